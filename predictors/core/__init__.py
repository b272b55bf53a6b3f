"""What every part of the model side stands on: the store (`store`), what a prediction returns (`results`),
settings (`settings`), safe image decoding (`imaging`), CSV reading (`csvio`) and the shared helpers (`helpers`).
Light to import: no torch, fastai or pandas at import time, except `csvio` (pandas)."""

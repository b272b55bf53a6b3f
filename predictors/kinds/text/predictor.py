"""Batched, checked predictions for fastai text classifiers (`TextBlock`, `text_classifier_learner`).

Each message goes through the learner's own `Tokenizer` (its rules, then spaCy's rules via `spacy.blank`) and
`Numericalize`; the messages of a call are sorted by length and padded as fastai's `SortedDL` pads them (its
`pad_input_chunk`: whole chunks of padding first), and the model reads them in one forward pass per batch, so
each probability equals `learn.predict` on that message. A message that is not text, is empty or is longer than
`TEXT_MAX_CHARS` fails alone with the reason; NUL characters and lone surrogates are replaced first (said).
"""
from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd

from predictors.core.store import ModelError
from predictors.kinds.tables.predictor import AnswersRows, BatchResult
from predictors.kinds.words import clean_text, text_parts

__all__ = ['TextPredictor', 'OTHER_WORDS']

OTHER_WORDS = '(other words)'      # the words of a message that are not among the training's most frequent


class TextPredictor(AnswersRows):
    "Class probabilities of a text classifier Learner for messages, many in one forward pass per batch."
    task = 'text'

    def __init__(self, learn, card: dict | None = None, batch_size: int = 64):
        import torch
        self.learn, self.card, self.batch_size = learn, card or {}, batch_size
        self.model = learn.model.eval()
        self.tok, self.num = text_parts(learn)
        self.classes = [str(c) for c in learn.dls.vocab[1]]
        self.name, self.version = self.card.get('name'), self.card.get('version')
        self.column = (self.card.get('schema') or {}).get('text_column') or 'text'
        self.inputs = [dict(name=self.column, kind='text')]
        self.activation = getattr(learn.loss_func, 'activation', None) or (lambda x: torch.softmax(x, -1))
        self.pad = self.learn.dls.valid.before_batch
        self.unk = self.num.o2i.get('xxunk', 0) if hasattr(self.num, 'o2i') else 0
        self.top = set((self.card.get('reference') or {}).get('top_tokens') or ())   # the words drift counts

    # ---- tokens ------------------------------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        "The tokens the model reads for a message (the learner's rules and tokenizer: 'xxbos', 'xxmaj', …)."
        return [str(t) for t in self.tok(text)]

    def ids(self, tokens: list[str]):
        "The token ids (a LongTensor) of tokens, as `Numericalize` gives them (unknown ones: `xxunk`)."
        return self.num(tokens)

    def stats(self, tokens: list[str], ids) -> dict:
        """What drift watches of a message: its length in tokens, the share the model does not know and (with the
        card's reference) how often it uses each of the training messages' most frequent words (`OTHER_WORDS`: the rest)."""
        n = max(1, len(tokens) - 1)                          # xxbos aside
        out = dict(tokens=len(tokens) - 1, unknown=round(float((ids[1:] == self.unk).sum()) / n, 4))
        if self.top:
            words = [t if t in self.top else OTHER_WORDS for t in tokens[1:] if not t.startswith('xx')]
            out['words'] = dict(Counter(words))
        return out

    # ---- the model ---------------------------------------------------------------------------
    def probs_of_ids(self, seqs: list) -> np.ndarray:
        "Class probabilities (n × classes) of token id sequences, longest first in each batch and padded as fastai does."
        import torch
        out = np.zeros((len(seqs), len(self.classes)), np.float32)
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                idx = order[s:s + self.batch_size]
                xb = torch.stack([b[0] for b in self.pad([(seqs[i],) for i in idx])])   # ((ids,), …) padded
                out[idx] = self.activation(self.model(xb)[0]).float().numpy()
        return out

    def predict_texts(self, texts: list) -> tuple[np.ndarray, dict, dict, list]:
        "`(probabilities n × classes, errors by row, warnings by row, stats by row)` for raw messages."
        errors, warns, stats, seqs, good = {}, {}, [None] * len(texts), [], []
        for i, v in enumerate(texts):
            text, err, w = clean_text(v)
            if w: warns[i] = w
            if err: errors[i] = err; continue
            toks = self.tokens(text)
            ids = self.ids(toks)
            stats[i] = self.stats(toks, ids)
            seqs.append(ids); good.append(i)
        probs = np.full((len(texts), len(self.classes)), np.nan, np.float32)
        if seqs: probs[good] = self.probs_of_ids(seqs)
        return probs, errors, warns, stats

    # ---- the records interface (as the tabular predictors') --------------------------------------
    def check_columns(self, columns) -> list[str]:
        return [] if self.column in columns else [self.column]

    def require_columns(self, columns, what: str = 'the input') -> None:
        if self.column not in columns:
            raise ModelError(f'{what} has no column {self.column!r} (the message text) that the model reads.')

    def unused_columns(self, columns) -> list[str]:
        return [c for c in columns if c != self.column]

    def predict_records(self, records: list[dict]) -> BatchResult:
        "Predict messages given as {'text': …} dicts."
        return self._predict([r.get(self.column) if isinstance(r, dict) else None for r in records])

    def predict_frame(self, df: pd.DataFrame) -> BatchResult:
        self.require_columns(df.columns)
        return self._predict(df[self.column].tolist())

    def _predict(self, texts: list) -> BatchResult:
        t0 = time.perf_counter()
        probs, errors, warns, stats = self.predict_texts(texts)
        res = BatchResult(self.classes, probs, errors, warns, time.perf_counter() - t0)
        res.stats = stats
        return res

    def logged_inputs(self, rows: list[dict], res: BatchResult, start: int = 0) -> list[dict]:
        "What the log keeps of each message: the text and its drift statistics (length in tokens, unknown share)."
        return [{self.column: r.get(self.column), **(s or {})} for r, s in zip(rows, res.stats[start:])]

"""What the kinds that read text share (a text classifier, a language model): the learner's tokenizer and numericalizer
(`text_parts`), fastai's special tokens (`SPECIAL`) and the checks every message passes first (`clean_text`).
"""
from __future__ import annotations

from predictors.core.results import TEXT_MAX_CHARS
from predictors.core.store import ModelError

__all__ = ['text_parts', 'clean_text', 'SPECIAL']

SPECIAL = ('xxbos', 'xxeos', 'xxfld', 'xxmaj', 'xxup', 'xxrep', 'xxwrep', 'xxpad', 'xxunk', 'xxfake')


def text_parts(learn) -> tuple:
    "The learner's `Tokenizer` and `Numericalize` (its text pipeline), or `ModelError` when it has none."
    fs = list(learn.dls.train_ds.tls[0].tfms.fs) if hasattr(learn.dls.train_ds, 'tls') else []
    tok = next((t for t in fs if type(t).__name__ == 'Tokenizer'), None)
    num = next((t for t in fs if type(t).__name__ == 'Numericalize'), None)
    if tok is None or num is None: raise ModelError('the learner reads no text (no Tokenizer and Numericalize).')
    return tok, num


def clean_text(v) -> tuple[str | None, str | None, list]:
    """`(text, error, warnings)` for one message: NUL characters removed and lone surrogates replaced (each said);
    an error for what is not text, is empty, or is longer than `TEXT_MAX_CHARS`."""
    if v is None or (isinstance(v, float) and v != v): return None, 'the message is empty: type or paste some text', []
    if not isinstance(v, str): return None, f'the message must be text, not {type(v).__name__}', []
    warns = []
    if '\x00' in v:
        v = v.replace('\x00', '')
        warns.append('NUL characters were removed from the message')
    fixed = v.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace')
    if fixed != v: warns.append('characters that are not valid Unicode (lone surrogates) were replaced by �')
    if not fixed.strip(): return None, 'the message is empty: type or paste some text', warns
    if len(fixed) > TEXT_MAX_CHARS:
        return None, (f'the message is {len(fixed):,} characters long; the apps read messages of up to '
                      f'{TEXT_MAX_CHARS:,} characters: shorten it or split it'), warns
    return fixed, None, warns

"""Rebuilding the text pipeline of a fastai 2.0–2.7 export (a text classifier's, a language model's).

The tokenizer is made again from what was pickled: spaCy's rules for the language of its pickled pipeline
(`spacy.blank`), fastai's text rules named in it (`fix_html`, `replace_maj`…, each found again by name) and the
separator. A tokenizer other than spaCy's (SentencePiece), or a rule from the exporter's own code, is refused with
its name.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import OldObject, find_object, items, old_name, state

__all__ = ['short', 'is_text', 'tokenizer']


def short(o) -> str:
    "The class name of an old object (an `OldObject` stand-in, a class, or an object of this fastai)."
    return old_name(o).rpartition('.')[2] if isinstance(o, OldObject) or isinstance(o, type) else type(o).__name__


def is_text(tfms: list) -> bool:
    "Whether an old dataset's input transforms read text (a `Tokenizer` among them)."
    return any(short(t) == 'Tokenizer' for t in tfms)


def _rule(r):
    "A text rule (a function pickled by name) as fastai 2.8's, or `ModelError` naming it."
    if callable(r) and not isinstance(r, OldObject) and not isinstance(r, type): return r
    mod, _, name = old_name(r).rpartition('.')
    real = find_object(mod, name) if mod.startswith('fastai') else None
    if real is None:
        raise ModelError(f'this fastai < 2.8 export cannot be converted: its tokenizer rule `{name}` (module `{mod}`) '
                         'cannot be found here. Export it again with fastai 2.8, with the rule in an importable module.')
    return real


def tokenizer(t):
    "fastai 2.8's `Tokenizer` made again from an old one."
    from fastai.text.core import SpacyTokenizer, Tokenizer
    inner = state(t).get('tok')
    if short(inner) not in ('SpacyTokenizer', 'WordTokenizer'):
        raise ModelError(f'this fastai < 2.8 export cannot be converted: its tokenizer is {short(inner)}; only '
                         "fastai's default (spaCy's rules) can be rebuilt.")
    pipe = state(inner).get('pipe')
    lang = getattr(getattr(pipe, '__self__', None), 'lang', None) or 'en'
    special = items(state(inner).get('special_toks')) or None
    rules = [_rule(r) for r in items(state(t).get('rules'))]
    return Tokenizer(SpacyTokenizer(lang=lang, special_toks=special), rules=rules, sep=state(t).get('sep') or ' ')

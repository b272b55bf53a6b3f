"""What a language model writes, in plain Python: a continuation (`Continuation`), its next words (`NextWord`) and the
pieces a page receives while it is written (`Piece`); the same objects in-process and over HTTP (`/v1`'s JSON is
their `to_dict`, the API's models are derived from their `WIRE`). Nothing here imports numpy, torch or fastai."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ['NextWord', 'Piece', 'Continuation', 'MOST_WORDS', 'MOST_TEMPERATURE', 'KEPT', 'NOT_USEFUL']

MOST_WORDS = 200           # the longest continuation one request may ask for (in tokens, as fastai's `n_words`)
MOST_TEMPERATURE = 10.0    # temperatures run from 0 (always the most likely word) to this
KEPT, NOT_USEFUL = 'kept', 'not useful'     # the feedback a continuation takes


@dataclass
class NextWord:
    "A word the model expects next and its probability (the learner's own softmax)."
    word: str
    probability: float

    WIRE = dict(word=(str, ..., 'the token as the model knows it (xxmaj: the next word starts with a capital)'),
                probability=(float, ..., "its probability: the learner's softmax over its vocabulary"))

    def to_dict(self) -> dict: return dict(word=self.word, probability=self.probability)

    @classmethod
    def from_dict(cls, d: dict) -> 'NextWord': return cls(d['word'], d['probability'])


@dataclass
class Piece:
    "One token of a continuation as it is written: the token and the text it adds (`''` for xxmaj until its word comes)."
    token: str
    text: str

    def to_dict(self) -> dict: return dict(token=self.token, text=self.text)


@dataclass
class Continuation:
    """What comes after a beginning: `text` (fastai's `learn.predict` string: the beginning as the model read it, then the
    words), the continuation alone (`continuation`, its `tokens`), the `seed` and `temperature` that drew it (the same
    seed gives the same words), the prompt's words the model does not know (`unknown`), its most likely next words
    (`next`), warnings, or the reason there is none; its log id (`id`: feedback)."""
    text: str = ''
    continuation: str = ''
    tokens: list = field(default_factory=list)
    seed: int | None = None
    temperature: float | None = None
    unknown: list = field(default_factory=list)
    next: list = field(default_factory=list)
    stopped: bool = False
    warnings: list = field(default_factory=list)
    error: str | None = None
    id: int | None = None

    @property
    def ok(self) -> bool: return self.error is None

    WIRE = dict(
        text=(str, '', "the beginning as the model read it (a word it does not know: xxunk), then the continuation: "
                       "`learn.predict`'s string"),
        continuation=(str, '', 'the words written after the prompt'),
        tokens=(list[str], [], 'the tokens drawn, in order (xxmaj: the next one starts with a capital)'),
        seed=(int | None, None, 'the seed of the draws: the same prompt, words, temperature and seed give the same words'),
        temperature=(float | None, None, '0: always the most likely word; 1: as the model says; higher: bolder'),
        unknown=(list[str], [], 'words of the beginning the model does not know (read as xxunk)'),
        next=(list, [], 'the words most likely to come right after the beginning, with their probabilities'),
        stopped=(bool, False, 'the writing was stopped before all the words asked for'),
        warnings=(list[str], [], 'what was changed in the beginning (NUL characters, invalid Unicode)'),
        error=(str | None, None, 'why there is no continuation'),
        id=(int | None, None, "the continuation's id in the prediction log (feedback: kept or not useful)"))

    def to_dict(self) -> dict:
        if self.error: return dict(error=self.error, warnings=self.warnings, id=self.id)
        d = {k: getattr(self, k) for k in self.WIRE if k not in ('error', 'next')}
        d['next'] = [n.to_dict() for n in self.next]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'Continuation':
        c = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d and k != 'next'})
        c.next = [NextWord.from_dict(n) for n in d.get('next') or []]
        return c

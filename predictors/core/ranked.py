"""A ranked list of items for one person, in plain Python: a recommender's answer (`Recommendations` of `RankedItem`s),
the same object in-process and over HTTP (`/v1`'s JSON is its `to_dict`, the API's model is derived from its `WIRE`).
Nothing here imports numpy, pandas, torch or fastai: a thin app kernel uses it."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ['RankedItem', 'Recommendations']


@dataclass
class RankedItem:
    """One recommended item: its place, id and title, the rating the model predicts for the person (and the range held-out
    predictions of that size fell in), the score it was ranked by, the ratings behind it and how sure that makes the
    model, the person's liked items nearest it (*because you liked*), its other columns, and its log id (feedback)."""
    rank: int
    item: str
    title: str = ''
    rating: float | None = None
    score: float | None = None
    ratings: int = 0
    sure: str = ''
    because: list = field(default_factory=list)
    about: dict = field(default_factory=dict)
    range: list | None = None
    id: int | None = None

    WIRE = dict(
        rank=(int, ..., '1 for the first'), item=(str, ..., "the item's id"), title=(str, '', 'its title (else its id)'),
        rating=(float | None, None, 'the rating the model predicts for this person'),
        score=(float | None, None, 'what it was ranked by: the rating nudged towards items many people rated'),
        ratings=(int, 0, 'the ratings of this item the model learnt from'),
        sure=(str, '', "how sure the model is: 'sure', 'fairly sure' or 'unsure' (by the ratings behind the item)"),
        because=(list[str], [], "the person's liked items nearest this one (a model with item factors)"),
        about=(dict[str, str], {}, "the item's other columns (genres, year…)"),
        range=(list[float] | None, None, "[low, high]: where the card's share of held-out ratings near this one fell"),
        id=(int | None, None, "the recommendation's id in the prediction log (feedback: the person's real rating)"))

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.WIRE if getattr(self, k) is not None or k in ('rating', 'score')}

    @classmethod
    def from_dict(cls, d: dict) -> 'RankedItem':
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Recommendations:
    """A ranked list of items for one person: one the model knows (`user`), or a new one placed by their own ratings
    (`folded_in`, `how`); warnings (an item it does not know, left out), or the reason there is none."""
    user: str | None = None
    items: list = field(default_factory=list)
    folded_in: bool = False
    how: str = ''
    warnings: list = field(default_factory=list)
    error: str | None = None

    WIRE = dict(user=(str | None, None, 'the person, when the model knows them'),
                items=(list, [], 'the recommendations, best first'),
                folded_in=(bool, False, "a new person, placed among the others by their own ratings (no retraining)"),
                how=(str, '', 'how the person was placed'), warnings=(list[str], [], 'what was left out, and why'),
                error=(str | None, None, 'why there are no recommendations'))

    @property
    def ok(self) -> bool: return self.error is None

    def to_dict(self) -> dict:
        if self.error: return dict(user=self.user, error=self.error)
        return dict(user=self.user, items=[i.to_dict() for i in self.items], folded_in=self.folded_in, how=self.how,
                    **({'warnings': self.warnings} if self.warnings else {}))

    @classmethod
    def from_dict(cls, d: dict) -> 'Recommendations':
        return cls(user=d.get('user'), items=[RankedItem.from_dict(i) for i in d.get('items') or []],
                   folded_in=bool(d.get('folded_in')), how=d.get('how') or '', warnings=d.get('warnings') or [],
                   error=d.get('error'))

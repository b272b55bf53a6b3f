"""Answers of a recommender (a fastai collab learner): the rating a person would give an item (rows of user, item: the
form, JSON records, a CSV, `/v2`), a ranked list for a person the model knows or for a new one placed by their own
ratings (`recommend`: fold-in, no retraining), the items nearest one (`similar`), title search, and why a rating.

Ratings are the model's own (`model.Factors`: equal to `learn.get_preds` on the same pairs). A known person is never
recommended what they rated in training (`ratings.npz` beside the model), nor a new person what they just rated.
"""
from __future__ import annotations

import time

import numpy as np

from predictors.core.errors import ModelError
from predictors.core.ranked import RankedItem, Recommendations
from predictors.kinds.collab.items import FILE as ITEMS_FILE, Catalogue, read_items
from predictors.kinds.collab.model import read_model
from predictors.kinds.collab.ranking import GOOD, rank_scores, top_n
from predictors.kinds.collab.train import codes
from predictors.kinds.numbers import NumberBatch, value_range
from predictors.kinds.tables.predictor import AnswersRows

__all__ = ['CollabPredictor', 'liked', 'MOST_RATINGS', 'MOST_TOP', 'NOTHING_RATED']

MOST_RATINGS = 10_000     # ratings one new person may give in one request
MOST_TOP = 500            # recommendations one request may ask for
KNOWN = 'a person the model knows'
NOTHING_RATED = (np.zeros(0, int), np.zeros(0))                     # the ratings of someone who rated nothing


def _sure(n: int) -> str:
    return 'sure' if n >= 50 else 'fairly sure' if n >= 10 else 'unsure'


class CollabPredictor(AnswersRows):
    "A collab learner's ratings, recommendations and neighbours (see the module's docstring)."
    task = 'collab'

    def __init__(self, learn, card: dict | None = None, limits=None, files: dict | None = None):
        self.learn, self.card = learn, card or {}
        self.name, self.version = self.card.get('name'), self.card.get('version')
        (self.user, self.item, self.rating), users, items = codes(learn)
        self.users = {str(k): v for k, v in users.items()}
        self.items = {str(k): v for k, v in items.items()}
        self.item_ids = ['#na#'] + [str(k) for k in items]
        self.user_ids = ['#na#'] + [str(k) for k in users]
        self.f = read_model(learn.model, len(users) + 1, len(items) + 1)
        self.inputs = [c for c in (self.card.get('schema') or {}).get('inputs', [])] or [
            dict(name=self.user, kind='categorical'), dict(name=self.item, kind='categorical')]
        c = self.card.get('collab') or {}
        self.weight = (c.get('ranking') or {}).get('weight', 0.3)
        self.new_weight = (c.get('ranking') or {}).get('new_person_weight', self.weight)
        self.noise = c.get('noise') or 0.5
        self.scale = c.get('scale') or (list(self.f.y_range) if self.f.y_range else None)
        self.bins = (c.get('errors') or {}).get('bins') or []
        self.seen, self.counts = self._ratings((files or {}).get('ratings.npz'))
        path = (files or {}).get(ITEMS_FILE)
        self.catalogue = Catalogue(read_items(path, self.item) if path else None, self.item)
        self.vectors = self.f.item_vectors()

    def _ratings(self, path):
        "Who rated what in training ({user index: (items, ratings)}) and each item's count of ratings."
        counts = np.zeros(len(self.item_ids))
        if path is None: return {}, counts
        z = np.load(path)
        counts += np.bincount(z['item'], minlength=len(self.item_ids))[:len(self.item_ids)]
        order = np.argsort(z['user'], kind='stable')
        u, i, r = z['user'][order], z['item'][order], z['rating'][order].astype(float)
        cuts = np.flatnonzero(np.diff(u)) + 1
        return {int(g[0]): (ii, rr) for g, ii, rr in zip(np.split(u, cuts), np.split(i, cuts), np.split(r, cuts)) if len(g)}, counts

    # ---- rows: a rating per (user, item) -------------------------------------------------------------------------
    def _index(self, records):
        "(user indices, item indices, errors by row) of records; an unknown user or item fails that row alone."
        uu, ii, errors = np.zeros(len(records), np.int64), np.zeros(len(records), np.int64), {}
        for k, r in enumerate(records):
            u, i = _text(r.get(self.user)), _text(r.get(self.item))
            why = [f'{what} {v!r} is not one the model knows' + hint for what, v, known, hint in (
                (self.user, u, self.users, ' (a new person: give their ratings to recommend for them)'),
                (self.item, i, self.items, '')) if v not in known]
            if u is None or i is None: why = [f'give both {self.user} and {self.item}']
            if why: errors[k] = '; '.join(why); continue
            uu[k], ii[k] = self.users[u], self.items[i]
        return uu, ii, errors

    def predict_records(self, records: list[dict]) -> NumberBatch:
        t0 = time.perf_counter()
        uu, ii, errors = self._index(records)
        ok = np.ones(len(records), bool); ok[list(errors)] = False
        values = np.full(len(records), np.nan)
        if ok.any(): values[ok] = self.f.pairs(uu[ok], ii[ok])
        low, high = self._range(values)
        return NumberBatch(values, low, high, errors, {}, time.perf_counter() - t0)

    def _range(self, values):
        """Where held-out ratings near each predicted one fell, inside the rating scale but always holding the predicted
        rating (which a model may put past the scale); (None, None) without bins."""
        low, high = value_range(values, self.bins, lambda z: z)
        if low is None or not self.scale: return low, high
        return np.minimum(np.clip(low, *self.scale), values), np.maximum(np.clip(high, *self.scale), values)

    def predict_frame(self, df) -> NumberBatch:
        self.require_columns(df.columns)
        return self.predict_records(df[[self.user, self.item]].astype(object).where(df[[self.user, self.item]].notna(),
                                                                                     None).to_dict('records'))

    def require_columns(self, columns, what: str = 'the input') -> None:
        missing = [c for c in (self.user, self.item) if c not in columns]
        if missing: raise ModelError(f'{what} lacks the column{"s" if len(missing) > 1 else ""} {", ".join(missing)} '
                                     f'(a rating is asked of a {self.user} for an {self.item}).')

    def unused_columns(self, columns) -> list[str]:
        return [c for c in columns if c not in (self.user, self.item, self.rating)]

    def logged_inputs(self, rows: list[dict], res, start: int = 0) -> list[dict]:
        "The pair as it came, whether the model knows each side, and how many ratings the item had (drift)."
        out = []
        for r in rows:
            i = self.items.get(_text(r.get(self.item)))
            out.append({**r, 'known_user': _text(r.get(self.user)) in self.users, 'known_item': i is not None,
                        'item_ratings': int(self.counts[i]) if i is not None else 0})
        return out

    # ---- recommending --------------------------------------------------------------------------------------------
    def person(self, user=None, ratings=None) -> tuple:
        """(a known user's index or a new person's vector, the items to leave out, the person's rated items and ratings,
        how the person was placed, warnings): `user` (an id the model knows) or `ratings` ([(item, rating)])."""
        if user is not None and ratings:
            raise ModelError(f'give a {self.user} or ratings, not both.')
        if user is not None:
            u = self._known(user)
            items, r = self.seen.get(u, NOTHING_RATED)
            return u, items, items, r, KNOWN, []
        return self._fold(ratings or [])

    def _known(self, user) -> int:
        "A known person's index, or `ModelError` saying how to place someone new."
        u = self.users.get(_text(user))
        if u is None:
            raise ModelError(f'{self.user} {_text(user)!r} is not one the model knows: give their ratings instead '
                             '(a new person is placed by their own ratings).')
        return u

    def _fold(self, ratings: list) -> tuple:
        if len(ratings) > MOST_RATINGS: raise ModelError(f'{len(ratings):,} ratings; at most {MOST_RATINGS:,} at once.')
        items, r, warns = [], [], []
        lo, hi = self.scale or (-np.inf, np.inf)
        for item, value in ratings:
            i, v = self.items.get(_text(item)), _number(value)
            if v is None or not lo <= v <= hi:
                raise ModelError(f'the rating {value!r} of {self.catalogue.title(item)} is not a number from {lo:g} to {hi:g}.')
            if i is None: warns.append(f'{self.item} {_text(item)!r} is not one the model knows: left out'); continue
            items.append(i); r.append(v)
        if not items: raise ModelError('none of the rated items is one the model knows: rate some it knows (search them).')
        if self.f.mode == 'opaque':
            raise ModelError('this model cannot place a new person (it is read through its forward pass only): only the '
                             'people it was trained on get recommendations.')
        items, r = np.array(items), np.array(r, float)
        how = ('folded in exactly: the least-squares fit of their ratings to the trained item factors and biases'
               if self.f.mode == 'dot' else 'folded in by gradient steps on their user embedding (a network has no '
               'closed form)')
        return self.f.fold_in(items, r, self.noise), items, items, r, f'{how}, from {len(items)} rating(s)', warns

    def scores(self, who) -> np.ndarray:
        "Every item's predicted rating for a known user's index or a folded-in vector."
        return self.f.user_scores(np.array([who]))[0] if np.ndim(who) == 0 else self.f.vector_scores(who)

    def recommend(self, user=None, ratings=None, top: int = 10, exclude_seen: bool = True,
                  where: dict | None = None, exclude=()) -> Recommendations:
        """The `top` items for a person (see `person`), ranked by `rank_scores`; items they rated are left out
        (`exclude_seen`), and `exclude` (ids: rated since), and items whose columns do not match `where` ({column: value})."""
        _check_top(top)
        who, leave, rated, r, how, warns = self.person(user, ratings)
        pred = self.scores(who)
        weight = self.weight if np.ndim(who) == 0 else self.new_weight
        score = rank_scores(pred, self.counts, weight)
        leave = np.concatenate([leave if exclude_seen else NOTHING_RATED[0], self._left_out(where, exclude)]).astype(int)
        chosen = top_n(score, leave, top)
        return Recommendations(user=_text(user), items=self._list(chosen, pred[chosen], score[chosen], liked(rated, r)),
                               folded_in=np.ndim(who) != 0, how=how, warnings=warns)

    def recommend_each(self, users: list, top: int = 10, exclude_seen: bool = True, where: dict | None = None) -> list:
        """`recommend` for many people the model knows at once (their ratings and top `top` in one product per 128 people,
        `Factors.top_each`): per person a `Recommendations`, or the `ModelError` saying why not."""
        _check_top(top)
        out, known = [None] * len(users), []
        for k, user in enumerate(users):
            try:
                known.append((k, self._known(user)))
            except ModelError as e:
                out[k] = e
        common = self._left_out(where, ())
        leave = [np.concatenate([self.seen.get(u, NOTHING_RATED)[0] if exclude_seen else NOTHING_RATED[0], common]).astype(int)
                 for _, u in known]
        bonus = rank_scores(np.zeros(len(self.counts)), self.counts, self.weight)
        idx, rating = self.f.top_each(np.array([u for _, u in known], int), bonus, leave, top)
        for (k, u), chosen, pred in zip(known, idx, rating):
            ok = np.isfinite(pred)
            out[k] = Recommendations(user=_text(users[k]), items=self._list(chosen[ok], pred[ok], pred[ok] + bonus[chosen[ok]],
                                                                            liked(*self.seen.get(u, NOTHING_RATED))),
                                     folded_in=False, how=KNOWN, warnings=[])
        return out

    def _left_out(self, where: dict | None, exclude) -> np.ndarray:
        "The items no list may hold: those whose columns do not match `where`, and the ids `exclude`."
        out = [i for i in range(1, len(self.item_ids)) if where and not self.catalogue.matches(self.item_ids[i], where)]
        out += [self.items[k] for k in map(_text, exclude or ()) if k in self.items]
        return np.array(out, int)

    def _list(self, chosen, pred, score, liked) -> list[RankedItem]:
        "The ranked items `chosen` (indices, best first) with their predicted ratings, scores and ranges."
        low, high = self._range(np.asarray(pred, float))
        return [self._ranked(k + 1, i, pred[k], score[k], liked, None if low is None else [low[k], high[k]])
                for k, i in enumerate(chosen)]

    def _ranked(self, rank, i, rating, score, liked, rng) -> RankedItem:
        item = self.item_ids[i]
        shown = float(np.clip(rating, *self.scale)) if self.scale else float(rating)     # (the model may go past the scale)
        return RankedItem(rank=rank, item=item, title=self.catalogue.title(item), rating=round(shown, 4),
                          score=round(float(score), 4), ratings=int(self.counts[i]), sure=_sure(int(self.counts[i])),
                          because=[self.catalogue.title(self.item_ids[j]) for j in self.nearest(i, liked, 2)],
                          about=self.catalogue.about(item), range=None if rng is None else [round(float(x), 3) for x in rng])

    def nearest(self, i: int, among: np.ndarray, n: int) -> list[int]:
        "The `n` items of `among` nearest item `i` in the item-embedding space (none for a model without item vectors)."
        if self.vectors is None or not len(among): return []
        sims = self.vectors[among] @ self.vectors[i]
        return [int(among[k]) for k in np.argsort(-sims)[:n] if among[k] != i]

    def similar(self, item, top: int = 10, least: int = 20) -> list[RankedItem]:
        """People who liked `item` also liked: the items nearest it, nearest first, of those with `least` ratings behind
        them (an item rated by a handful has a vector that says little) when enough have."""
        i = self.items.get(_text(item))
        if i is None: raise ModelError(f'{self.item} {_text(item)!r} is not one the model knows.')
        if self.vectors is None: raise ModelError('this model has no item vectors to find neighbours with.')
        sims = self.vectors @ self.vectors[i]
        if (self.counts >= least).sum() > 5 * top: sims[self.counts < least] = -np.inf
        ids = top_n(sims, np.array([i]), top)
        return [RankedItem(rank=k + 1, item=self.item_ids[j], title=self.catalogue.title(self.item_ids[j]),
                           score=round(float(sims[j]), 4), ratings=int(self.counts[j]), sure=_sure(int(self.counts[j])),
                           about=self.catalogue.about(self.item_ids[j])) for k, j in enumerate(ids)]

    def search(self, text: str, most: int = 20) -> list[dict]:
        "Items the model knows whose title holds every word of `text`, with the ratings behind each."
        found = self.catalogue.search(text, self.items, lambda k: self.counts[self.items[k]])[:most]
        return [dict(item=k, title=t, ratings=int(self.counts[self.items[k]]), about=self.catalogue.about(k)) for k, t in found]


def _check_top(top: int) -> None:
    if not 1 <= top <= MOST_TOP: raise ModelError(f'ask for 1 to {MOST_TOP} recommendations, not {top}.')


def liked(rated: np.ndarray, r: np.ndarray) -> np.ndarray:
    "The items a person liked (rated at least `GOOD` and their own mean), for *because you liked*: all they rated if none."
    return rated[r >= max(GOOD, float(np.mean(r)))] if len(r) else rated


def _text(v) -> str | None:
    "An id as text ('1' for 1 or 1.0); None for nothing."
    if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()): return None
    if isinstance(v, float) and v.is_integer(): v = int(v)
    return str(v).strip()


def _number(v) -> float | None:
    try:
        x = float(str(v).strip())
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None

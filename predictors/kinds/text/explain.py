"""Why a text classifier answered so: Shapley values of the message's words.

A word is the token the model reads with its markers (`xxmaj` before a capitalised word, `xxup` before one in
capitals, `xxrep n c` for a repeated character): removing a word removes all of them. The value of a set of words
is the probability of the answer's class for the message made of those words alone, in their order; so the
words' contributions add up exactly to the answer's probability minus that of an empty message (`base`). Exact
(every subset) up to `exact_upto` words; beyond, sampled over random orders of the words, each with its reverse
(antithetic pairs), as many as a budget of token reads allows (at least 4, at most `permutations`); a message of
more than `max_units` words is explained in as many runs of consecutive words. Removing words (rather than
masking them) suits an LSTM, which reads a message of any length; the neutral input, an empty message, is what
the model answers when there is nothing to read.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from predictors.core.results import Explanation
from predictors.kinds.words import clean_text

__all__ = ['TokenShapley', 'words_of']

_MARKS = {'xxmaj': 1, 'xxup': 1, 'xxrep': 2, 'xxwrep': 2}     # marker token: how many tokens after it belong to it


def words_of(tokens: list[str]) -> list[list[str]]:
    "Tokens (without `xxbos`) grouped into words: each marker with the token(s) it marks ('xxrep', '3', '0')."
    out, cur, need = [], [], 0
    for t in tokens:
        cur.append(t)
        need = max(0, need - 1) + _MARKS.get(t, 0)
        if need == 0: out.append(cur); cur = []
    if cur: out.append(cur)
    return out


def _shown(word: list[str]) -> str:
    "A word as people read it: 'xxmaj hello' -> 'Hello', 'xxup free' -> 'FREE', 'xxrep 4 !' -> '!!!!'."
    w = text = word[-1]
    if len(word) > 2 and word[-2].isdigit() and word[-3] in ('xxrep', 'xxwrep'):
        text = w * int(word[-2]) if word[-3] == 'xxrep' else ' '.join([w] * int(word[-2]))
    if 'xxup' in word: return text.upper()
    return text[:1].upper() + text[1:] if 'xxmaj' in word else text


class TokenShapley:
    "Shapley values of a text predictor's words for its answer (see the module's docstring)."

    def __init__(self, pred, permutations: int = 24, exact_upto: int = 10, max_units: int = 64,
                 budget: int = 400_000, seed: int = 0):
        self.pred, self.permutations, self.exact_upto = pred, permutations, exact_upto
        self.max_units, self.budget, self.seed = max_units, budget, seed

    def explain(self, records: list[dict]) -> list[Explanation]:
        return [self.explain_text(r.get(self.pred.column) if isinstance(r, dict) else None) for r in records]

    def explain_frame(self, df) -> list[Explanation]:
        self.pred.require_columns(df.columns)
        return [self.explain_text(t) for t in df[self.pred.column].tolist()]

    def explain_text(self, text) -> Explanation:
        "Why the answer for one message: each word's contribution, in the message's order."
        import torch
        text, error, warns = clean_text(text)
        if error: return Explanation(error=error, warnings=warns)
        tokens = self.pred.tokens(text)
        words = words_of(tokens[1:])
        units = _runs(words, self.max_units)
        ids = [self.pred.ids([t for w in u for t in w]) for u in units]
        bos = self.pred.ids(tokens[:1])
        full = self.pred.probs_of_ids([torch.cat([bos, *ids])])[0]
        target = int(full.argmax())
        value = lambda subsets: self.pred.probs_of_ids(
            [torch.cat([bos, *[ids[j] for j in s]]) if s else bos for s in subsets])[:, target]
        if len(units) <= self.exact_upto: phi, method = _exact(len(units), value), f'exact ({len(units)} words)'
        else:
            k = self._rounds(len(units), sum(len(x) for x in ids) + 1)
            phi, method = _sampled(len(units), value, k, self.seed), f'sampled ({k} orders of the words)'
        base = float(value([()])[0])
        unknown = self.pred.num.o2i.get('xxunk') if hasattr(self.pred.num, 'o2i') else None
        contributions = [dict(field=f'word {i + 1}', value=' '.join(_shown(w) for w in u), contribution=float(c),
                              unknown=bool(unknown is not None and any(int(x) == unknown for x in ids[i])))
                         for i, (u, c) in enumerate(zip(units, phi))]
        return Explanation(target=self.pred.classes[target], probability=float(full[target]), base=base,
                           contributions=contributions, method=method, background='an empty message',
                           measure='probability', warnings=warns)

    def _rounds(self, n: int, length: int) -> int:
        "How many orders to sample: as many as `budget` token reads allow, even, between 4 and `permutations`."
        k = self.budget // max(1, (n + 1) * length)
        return int(min(self.permutations, max(4, k - k % 2)))


def _runs(words: list, most: int) -> list[list[list[str]]]:
    "The words as at most `most` runs of consecutive words (each run a list of words)."
    if len(words) <= most: return [[w] for w in words]
    cuts = np.linspace(0, len(words), most + 1).round().astype(int)
    return [words[a:b] for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _exact(n: int, value) -> np.ndarray:
    "Shapley values from the value of every subset of `n` players (`value(list of index tuples)` -> array)."
    subsets = [s for r in range(n + 1) for s in itertools.combinations(range(n), r)]
    v = dict(zip(subsets, value(subsets)))
    phi = np.zeros(n)
    for s in subsets:
        w = math.factorial(len(s)) * math.factorial(n - len(s) - 1) / math.factorial(n) if len(s) < n else 0
        for j in range(n):
            if j not in s: phi[j] += w * (v[tuple(sorted(s + (j,)))] - v[s])
    return phi


def _sampled(n: int, value, k: int, seed: int) -> np.ndarray:
    "Shapley values averaged over `k` random orders (k/2 orders and their reverses): each adds up exactly."
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(k // 2):
        o = list(rng.permutation(n)); orders += [o, o[::-1]]
    prefixes = [tuple(sorted(o[:i])) for o in orders for i in range(n + 1)]
    vals = value(prefixes).reshape(len(orders), n + 1)
    phi = np.zeros(n)
    for o, v in zip(orders, vals):
        phi[o] += np.diff(v)
    return phi / len(orders)

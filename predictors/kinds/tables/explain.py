"""Why a tabular answer: the contribution of each input field.

`TabularExplainer`: interventional Shapley values of the predicted class's probability
against a background sample of the training data kept in the card (`reference.background`). The
value of a set S of fields is the mean probability when the fields in S take the person's values
and the others a background row's. Exact (every coalition) when 2^d × background rows fit the
budget of model rows, else antithetic permutation sampling; both add up exactly (efficiency):
base value + the sum of the contributions = the probability. Coalitions are mixed on the encoded
model inputs and scored in one vectorised pass of the predictor, so no training data and no code
per model are needed.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from predictors.core.helpers import json_safe
from predictors.core.results import Explanation

__all__ = ['TabularExplainer', 'background_frame']

_EXPLAIN_ROWS = 64        # of which an explanation averages over this many (speed: ~80 ms a row on one thread)
_BUDGET = 40_000          # model rows per explanation


def background_frame(card: dict, fields: list[str], n: int = _EXPLAIN_ROWS, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Rows the base value is the average over, and what they are: training rows kept in the card;
    else independent draws from the card's training statistics; else the form's default input."""
    ref = card.get('reference') or {}
    rows = ref.get('background')
    if rows:
        df = pd.DataFrame(rows[:n]).reindex(columns=fields)
        return df, f'{len(df)} rows of the training data'
    cols, rng = ref.get('columns') or {}, np.random.default_rng(seed)
    if cols:
        out = {}
        for c in (card.get('schema') or {}).get('inputs', []):
            name, r = c['name'], cols.get(c['name']) or {}
            if name not in fields: continue
            if r.get('sample'):
                v = rng.choice(np.asarray(r['sample'], dtype=float), n).astype(object)
                v[rng.random(n) < float(r.get('missing') or 0)] = None
            elif r.get('props'):
                keys, p = list(r['props']), np.asarray(list(r['props'].values()), float)
                v = np.asarray(keys, dtype=object)[rng.choice(len(keys), n, p=p / p.sum())]
            else:
                v = np.full(n, c.get('default'), dtype=object)
            out[name] = v
        return pd.DataFrame(out).reindex(columns=fields), f'{n} draws from the training statistics in the card'
    defaults = {c['name']: c.get('default') for c in (card.get('schema') or {}).get('inputs', [])}
    return pd.DataFrame([{f: defaults.get(f) for f in fields}]), 'the default input (the card keeps no training data)'


class TabularExplainer:
    "Shapley contributions of each input field of a `TabularPredictor`'s answers."

    def __init__(self, pred, background: pd.DataFrame | None = None, budget: int = _BUDGET, seed: int = 0):
        self.pred, self.budget, self.seed = pred, budget, seed
        self.fields = [c['name'] for c in pred.inputs]
        self._kind = {c['name']: c['kind'] for c in pred.inputs}
        if background is None: background, self.background = background_frame(pred.card, self.fields, seed=seed)
        else: self.background = f'{len(background)} given rows'
        bg, ok = self._encode(background.reindex(columns=self.fields))
        if not ok.any(): raise ValueError('no background row can be scored by the model')
        self._bg = [a[ok] for a in bg]
        d = len(self.fields)
        if pred.prep.fast:      # encoded columns: a field owns its category code, or its number and its `_na` flag
            p = pred.prep
            owner = lambda names, extra: np.array([[n == f or (extra and self._kind[f] == 'continuous' and n == f'{f}_na')
                                                    for n in names] for f in self.fields], bool).reshape(d, len(names))
            self._maps = [owner(p.cat_names, True), owner(p.cont_names, False)]
        else:                   # other procs: mix the raw values and let fastai process them
            self._maps = [np.eye(d, dtype=bool)]
        self.exact = d <= 20 and (1 << d) * len(self._bg[0]) <= budget
        self.permutations = 0 if self.exact else max(8, 2 * (budget // (2 * max(1, d - 1) * len(self._bg[0]))))

    @property
    def method(self) -> str:
        return 'exact' if self.exact else f'sampled ({self.permutations} permutations)'

    # ---- encoding and scoring mixed rows --------------------------------------------------------
    def _encode(self, df: pd.DataFrame):
        "The model's inputs for `df`'s rows (arrays), and which rows could be encoded."
        p = self.pred.prep
        if p.fast:
            x_cat, x_cont, errors, _ = p.encode({f: df[f].to_numpy(object) for f in self.fields}, len(df))
            ok = np.ones(len(df), bool); ok[list(errors)] = False
            return [x_cat, x_cont], ok
        return [df[self.fields].to_numpy(object)], np.ones(len(df), bool)

    def _score(self, arrays) -> np.ndarray:
        if self.pred.prep.fast: return self.pred.forward(*arrays)
        return self.pred.predict_frame(pd.DataFrame(arrays[0], columns=self.fields)).probs

    def _values(self, x: list, masks: np.ndarray) -> np.ndarray:
        "v(S) for each row of `masks` (k × fields, True: the person's value): mean class probabilities (k × classes)."
        nb = len(self._bg[0])
        step = max(1, self.budget // nb)
        out = []
        for s in range(0, len(masks), step):
            m = masks[s:s + step].astype(np.int32)
            mixed = []
            for xa, bg, own in zip(x, self._bg, self._maps):
                take = (m @ own.astype(np.int32)) > 0                              # k × columns
                mixed.append(np.where(take[:, None, :], xa[None, :, :], bg[None, :, :]).reshape(-1, xa.shape[1]))
            probs = self._score(mixed).astype(np.float64)
            out.append(probs.reshape(len(m), nb, -1).mean(1))
        return np.concatenate(out)

    def shapley(self, x: list) -> tuple[np.ndarray, np.ndarray]:
        "(contributions: fields × classes, v(∅) and v(all): 2 × classes) for one encoded row `x`."
        d = len(self.fields)
        if self.exact:
            ids = np.arange(1 << d)
            masks = ((ids[:, None] >> np.arange(d)) & 1).astype(bool)
            v = self._values(x, masks)
            size = masks.sum(1)
            w = np.array([math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)])
            phi = np.zeros((d, v.shape[-1]))
            for i in range(d):
                without = ids[(ids >> i) & 1 == 0]                  # the coalitions that lack field i
                phi[i] = (w[size[without]][:, None] * (v[without | (1 << i)] - v[without])).sum(0)
            return phi, v[[0, -1]]
        rng = np.random.default_rng(self.seed)
        half = [rng.permutation(d) for _ in range(self.permutations // 2)]
        perms = np.array(half + [p[::-1] for p in half])
        pos = np.argsort(perms, 1)                                                  # where each field enters
        masks = pos[:, None, :] < np.arange(d + 1)[None, :, None]                   # perm × prefix × field
        uniq, inv = np.unique(masks.reshape(-1, d), axis=0, return_inverse=True)
        v = self._values(x, uniq)[inv.reshape(-1)].reshape(len(perms), d + 1, -1)
        step = v[:, 1:] - v[:, :-1]                                                 # perm × position × class
        phi = np.zeros((d, v.shape[-1]))
        for p, s in zip(perms, step): phi[p] += s
        return phi / len(perms), np.stack([v[0, 0], v[0, -1]])

    # ---- answers --------------------------------------------------------------------------------
    def explain(self, records: list[dict]) -> list[Explanation]:
        "One explanation per input given as {column: value} (a missing column counts as empty)."
        df = pd.DataFrame({f: np.array([r.get(f) for r in records], dtype=object) for f in self.fields})
        return self.explain_frame(df)

    def explain_frame(self, df: pd.DataFrame) -> list[Explanation]:
        "One explanation per row of `df`; a row the model cannot score gets its reason as `error`."
        self.pred.require_columns(df.columns)
        df = df.reset_index(drop=True)
        res = self.pred.predict_frame(df)
        x, _ = self._encode(df)
        out, classes = [], self.pred.classes
        for i in range(len(df)):
            if i in res.errors:
                out.append(Explanation(error=res.errors[i], warnings=res.warnings.get(i, []))); continue
            phi, ends = self.shapley([a[i:i + 1] for a in x])
            k = int(ends[1].argmax()) if classes else 0       # a classifier's predicted class; a regression's value
            contrib = [dict(field=f, value=json_safe(df.at[i, f]), contribution=float(phi[j, k]))
                       for j, f in enumerate(self.fields)]
            contrib.sort(key=lambda c: -abs(c['contribution']))
            out.append(Explanation(target=classes[k] if classes else self.pred.schema.get('target'),
                                   probability=float(ends[1, k]), base=float(ends[0, k]), contributions=contrib,
                                   method=self.method, background=self.background, warnings=res.warnings.get(i, []),
                                   measure='probability' if classes else 'value'))
        return out

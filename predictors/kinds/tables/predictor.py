"""Fast, checked predictions for tabular fastai learners.

`TabularPredictor` applies the learner's own fitted procs (Categorify, FillMissing, Normalize)
with plain numpy and calls the model once per batch: the probabilities equal `learn.predict`
for every row, without its per-call DataLoader overhead. Learners with other procs go through
fastai's own `TabularPandas` processing instead. Every row is checked first: numbers that do
not parse or are infinite fail that row alone; unseen categories, empty numbers and values
outside the training range predict with a warning.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictors.core.csvio import spreadsheet_safe, whole_numbers
from predictors.core.helpers import labels_of, plain_number
from predictors.core.results import ERROR_PREFIX, MAX_STDS, OUTSIDE, Prediction, field_said, log_entries
from predictors.core.store import ModelError
from predictors.kinds.tables.schema import tabular_procs, tabular_schema

__all__ = ['AnswersRows', 'TabularPredictor', 'TabularPreprocessor', 'scored_frame', 'BatchResult']



@dataclass
class BatchResult:
    "Predictions for many rows: `probs` (n × classes), per-row errors and warnings by row index."
    classes: list
    probs: np.ndarray
    errors: dict
    warnings: dict
    seconds: float = 0.0

    def __len__(self): return len(self.probs)

    def __getitem__(self, i) -> Prediction:
        if i in self.errors: return Prediction(error=self.errors[i], warnings=self.warnings.get(i, []))
        p = self.probs[i]
        return Prediction(self.classes[int(p.argmax())], {c: float(v) for c, v in zip(self.classes, p)},
                          self.warnings.get(i, []))

    def __iter__(self): return (self[i] for i in range(len(self)))

    def scored(self, df: pd.DataFrame) -> pd.DataFrame:
        "`df` with these answers' columns (see `scored_frame`)."
        return scored_frame(df, self)


class TabularPreprocessor:
    """The learner's fitted procs (Categorify, FillMissing, Normalize) applied with numpy: checks each
    row and encodes the good ones as the model's inputs. Learners with other procs go through
    fastai's own `TabularPandas` processing (`fast` is False)."""

    def __init__(self, learn, schema: dict, said=str):
        p = tabular_procs(learn)
        self._to, self.cat_names, self.cont_names = p['to'], p['cat_names'], p['cont_names']
        # each column as a message names it (`field_said` with the model's card), worked out once, not per bad row
        self._said = {c: said(c) for c in [*self.cont_names, *self.cat_names]}
        self._cat_proc, self._fill, self._norm = p['categorify'], p['fill'], p['normalize']
        known = {type(x) for x in (self._cat_proc, self._fill, self._norm) if x is not None}
        y_names = set(p['y_names'])
        self.fast = all(type(x) in known or type(x).__name__ in ('Categorize', 'RegressionSetup') for x in p['procs'])  # target procs
        self.schema = schema
        self.inputs = [c for c in schema['inputs'] if c['name'] not in y_names]
        self._y_names = sorted(y_names)
        self._na = dict(getattr(self._fill, 'na_dict', {}) or {})
        self._add_na_col = bool(getattr(self._fill, 'add_col', False))
        self._o2i = {c: {v: i for i, v in enumerate(self._cat_proc.classes[c])}
                     for c in self.cat_names} if self._cat_proc is not None else {}
        # the same values written as text without their surrounding spaces (" Private" typed as "Private"), and
        # categories that are numbers written as text (an hour 7 sent as "7": a form, JSON, a protocol's BYTES tensor)
        self._o2i_loose = {c: {**{str(k): i for k, i in o2i.items() if not isinstance(k, str) and k == k},
                               **{k.strip(): i for k, i in o2i.items() if isinstance(k, str) and k != '#na#'}}
                           for c, o2i in self._o2i.items()}
        self._means = np.array([float(self._norm.means[c]) for c in self.cont_names]) if self._norm else None
        self._stds = np.array([float(self._norm.stds[c]) for c in self.cont_names]) if self._norm else None
        self._col = {c['name']: c for c in self.inputs}

    # ---- checking and encoding --------------------------------------------------------------
    def check_columns(self, columns) -> list[str]:
        "Input columns the model needs that `columns` lacks."
        have = set(columns)
        return [c['name'] for c in self.inputs if c['name'] not in have]

    def unused_columns(self, columns) -> list[str]:
        "Columns of `columns` the model does not read (neither an input nor the target)."
        known = {c['name'] for c in self.inputs} | set(self._y_names) | {self.schema.get('target')}
        return [c for c in columns if c not in known]

    def encode(self, cols: dict, n: int):
        "Check and encode columns (name -> sequence of n values): x_cat, x_cont, errors, warnings."
        errors, warns = {}, {}
        add = lambda d, i, msg: d.setdefault(int(i), []).append(msg)
        conts, na_flags = [], {}
        for c in self.cont_names:
            raw = cols[c]
            arr = _to_float(raw)
            bad = np.isnan(arr) & ~_is_missing(raw)
            for i in np.flatnonzero(bad): add(errors, i, f'{self._said[c]}: {raw[i]!r} is not a number')
            inf = np.isinf(arr)
            for i in np.flatnonzero(inf): add(errors, i, f'{self._said[c]}: {raw[i]} is not a finite number')
            miss = np.isnan(arr) & ~bad
            spec = self._col.get(c, {})
            if miss.any():
                if c in self._na:
                    fillv, how = float(self._na[c]), "the model's fill value"
                else:
                    fillv = next((float(v) for v in (spec.get('median'), spec.get('mean')) if v is not None), 0.0)
                    how = 'the training median'
                for i in np.flatnonzero(miss): add(warns, i, f'{self._said[c]} was empty: used {how} {plain_number(fillv)}')
                arr = np.where(miss, fillv, arr)
            if c in self._na and self._add_na_col: na_flags[f'{c}_na'] = miss
            lo, hi = spec.get('min'), spec.get('max')
            if lo is not None and hi is not None:
                out = ~miss & ~bad & ~inf & ((arr < lo) | (arr > hi))
                for i in np.flatnonzero(out):
                    add(warns, i, f'{self._said[c]} {plain_number(arr[i])} {OUTSIDE} {plain_number(lo)}–{plain_number(hi)}')
            conts.append(arr)
        cats = [self._category_codes(c, na_flags[c] if c in na_flags else cols[c], c in na_flags, n, warns, add)
                for c in self.cat_names]
        x_cat = np.stack(cats, 1) if cats else np.zeros((n, 0), np.int64)
        x_cont = np.stack(conts, 1) if conts else np.zeros((n, 0))
        if self._means is not None and len(self.cont_names):
            x_cont = (x_cont - self._means) / self._stds
            # finite but absurd numbers (1e300) overflow the network: refuse them by name
            with np.errstate(invalid='ignore'):
                far = np.abs(x_cont) > MAX_STDS
            for i, j in zip(*np.nonzero(far)):
                if int(i) in errors: continue
                c = self.cont_names[j]
                spec = self._col.get(c, {})
                rng = (f' (training range {plain_number(spec["min"])}–{plain_number(spec["max"])})' if spec.get('min') is not None else '')
                add(errors, i, f'{self._said[c]} {plain_number(conts[j][i])} is too far outside the training data for the model{rng}')
        with np.errstate(over='ignore', invalid='ignore'):   # refused rows may not fit in float32
            x_cont = x_cont.astype(np.float32)
        return x_cat, x_cont, {i: '; '.join(m) for i, m in errors.items()}, warns

    def _category_codes(self, c: str, vals, flag: bool, n: int, warns: dict, add):
        "The category codes of column `c` (`flag`: a FillMissing `_na` column); unseen and empty values warn."
        o2i = self._o2i[c]
        if n < 512: codes = np.fromiter((o2i.get(v, 0) for v in vals), dtype=np.int64, count=n)
        else:
            codes = pd.Categorical(np.asarray(vals, dtype=object),
                                   categories=list(self._cat_proc.classes[c])[1:]).codes.astype(np.int64) + 1
        if not flag:
            loose = self._o2i_loose[c]
            for i in np.flatnonzero(codes == 0):
                v = vals[i]
                if _is_missing(vals[i:i + 1])[0]: add(warns, i, f'{self._said[c]} was empty; the model treats it as unknown')
                elif isinstance(v, str) and v.strip() in loose: codes[i] = loose[v.strip()]
                else: add(warns, i, f'{self._said[c]}: {v!r} was not seen in training; the model treats it as unknown')
        return codes

    def encode_fastai(self, df: pd.DataFrame):
        "Fallback for learners with other procs: fastai's own `TabularPandas` processing."
        cols = {c: df[c].to_numpy() for c in self.cont_names if c in df}
        errors = {}
        for c, raw in cols.items():
            arr = _to_float(raw)
            for i in np.flatnonzero((np.isnan(arr) & ~_is_missing(raw)) | np.isinf(arr)):
                errors[int(i)] = f'{self._said[c]}: {raw[i]!r} is not a finite number'
        good = df.drop(index=df.index[list(errors)]) if errors else df
        to = self._to.new(good.copy())
        to.process()
        return to.cats.to_numpy(np.int64), to.conts.to_numpy(np.float32), errors, {}, good

class AnswersRows:
    """What the predictors of rows share (tables, texts): `answer`, the service's call, from their `predict_records`
    and what the log keeps of each row (`logged_inputs`)."""
    forward_shared = None          # rows are answered in one pass per call: no forward pass shared between calls
    options: tuple = ()            # what a record may say besides its inputs (a language model's seed)

    def answer(self, inputs: list[dict], forward=None) -> tuple[list[Prediction], list[dict]]:
        "One `Prediction` per record (a missing column is empty; a bad row fails alone) and a log entry each."
        res = self.predict_records(inputs)
        out = list(res)
        rows = self.logged_inputs([{c['name']: r.get(c['name']) for c in self.inputs} for r in inputs], res)
        return out, log_entries(rows, out, res.seconds)

    def predict_one(self, values: dict) -> Prediction:
        "Predict one input given as {column: value}; missing columns count as empty."
        return self.predict_records([values])[0]

    def score_frame(self, df: pd.DataFrame, res=None) -> pd.DataFrame:
        "`df` scored (its answers' `scored`); `res`: the predictions of `df` when already made."
        return (self.predict_frame(df) if res is None else res).scored(df)

    def logged_inputs(self, rows: list[dict], res, start: int = 0) -> list[dict]:
        "What the log keeps of the inputs `rows` (answered in `res` from row `start`): the fields as they came."
        return rows


class TabularPredictor(AnswersRows):
    "Predictions of a tabular Learner: its preprocessing (`TabularPreprocessor`), then the model in batches."
    task = 'tabular'

    def __init__(self, learn, card: dict | None = None, batch_size: int = 8192):
        import torch
        self.learn, self.card, self.batch_size = learn, card or {}, batch_size
        self.model = learn.model.eval()
        self.schema = self.card.get('schema') or tabular_schema(learn)
        self.prep = TabularPreprocessor(learn, self.schema, said=lambda c: field_said(self.card, c))
        self.inputs = self.prep.inputs
        self.classes = self._classes(learn)
        self.width = len(self.classes) or 1       # model outputs per row: a probability per class, or one number
        self.name, self.version = self.card.get('name'), self.card.get('version')
        self.activation = getattr(learn.loss_func, 'activation', None) or (lambda x: torch.softmax(x, -1))

    def _classes(self, learn) -> list:
        return [str(c) for c in learn.dls.vocab]

    def _result(self, out: np.ndarray, errors: dict, warns: dict, seconds: float) -> BatchResult:
        "The answers of a batch from the model's outputs (class probabilities here)."
        return BatchResult(self.classes, out, errors, warns, seconds)

    def check_columns(self, columns) -> list[str]: return self.prep.check_columns(columns)

    def require_columns(self, columns, what: str = 'the input') -> None:
        "`ModelError` naming the input columns the model needs that `columns` lacks."
        missing = self.check_columns(columns)
        if missing:
            raise ModelError(f'{what} lacks the column{"s" if len(missing) > 1 else ""} {", ".join(missing)} '
                             f'that the model needs.')

    def unused_columns(self, columns) -> list[str]: return self.prep.unused_columns(columns)

    # ---- predicting -------------------------------------------------------------------------
    def forward(self, x_cat: np.ndarray, x_cont: np.ndarray) -> np.ndarray:
        import torch
        out = []
        with torch.inference_mode():
            for s in range(0, len(x_cat), self.batch_size):
                xc = torch.from_numpy(np.ascontiguousarray(x_cat[s:s + self.batch_size]))
                xn = torch.from_numpy(np.ascontiguousarray(x_cont[s:s + self.batch_size]))
                out.append(self.activation(self.model(xc, xn)).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.width), np.float32)

    def predict_frame(self, df: pd.DataFrame) -> BatchResult:
        "Predict every row of `df`; rows with problems fail alone (see `BatchResult.errors`)."
        t0 = time.perf_counter()
        self.require_columns(df.columns)
        n = len(df)
        if self.prep.fast: return self._predict_columns({c['name']: df[c['name']].to_numpy() for c in self.inputs}, n, t0)
        probs = np.full((n, self.width), np.nan, np.float32)
        x_cat, x_cont, errors, warns, good = self.prep.encode_fastai(df.set_axis(pd.RangeIndex(n)))
        if len(good): probs[good.index.to_numpy()] = self.forward(x_cat, x_cont)
        return self._result(probs, errors, warns, time.perf_counter() - t0)

    def _predict_columns(self, cols: dict, n: int, t0: float) -> BatchResult:
        "The fast path: check and encode with numpy, one forward pass per batch of the rows that passed."
        probs = np.full((n, self.width), np.nan, np.float32)
        x_cat, x_cont, errors, warns = self.prep.encode(cols, n)
        ok = np.ones(n, bool); ok[list(errors)] = False
        if ok.all(): probs[:] = self.forward(x_cat, x_cont)
        elif ok.any(): probs[ok] = self.forward(x_cat[ok], x_cont[ok])
        _guard(probs, ok, errors)
        return self._result(probs, errors, warns, time.perf_counter() - t0)

    def predict_records(self, records: list[dict]) -> BatchResult:
        "Predict inputs given as {column: value} dicts; a missing column counts as empty."
        t0 = time.perf_counter()
        cols = {c['name']: np.array([r.get(c['name'], np.nan) for r in records], dtype=object) for c in self.inputs}
        if not self.prep.fast: return self.predict_frame(pd.DataFrame(cols))
        return self._predict_columns(cols, len(records), t0)



def scored_frame(df: pd.DataFrame, res: BatchResult) -> pd.DataFrame:
    "`df` (formulas neutralised: `spreadsheet_safe`) with `prediction`, one `probability_<class>` per class and `problem`."
    out = spreadsheet_safe(whole_numbers(df))
    pred = labels_of(res.classes, res.probs)
    pred[list(res.errors)] = None
    out['prediction'] = pred
    for j, c in enumerate(res.classes): out[f'probability_{c}'] = np.round(res.probs[:, j].astype(float), 6)
    problem = np.full(len(df), '', dtype=object)
    for i, w in res.warnings.items(): problem[i] = '; '.join(w)
    for i, e in res.errors.items(): problem[i] = ERROR_PREFIX + e
    out['problem'] = problem
    return out


def _guard(probs: np.ndarray, ok: np.ndarray, errors: dict) -> None:
    "Rows the model answered with NaN or inf become errors instead of a meaningless answer."
    for i in np.flatnonzero(ok & ~np.isfinite(probs).all(1)):
        errors[int(i)] = 'the model could not compute an answer for these values (a number is too extreme)'


def _to_float(raw) -> np.ndarray:
    "Numbers as float64; text that does not parse becomes NaN (checked against `_is_missing`), huge ones ±inf."
    a = np.asarray(raw)
    if a.dtype.kind in 'iufb': return a.astype(np.float64)
    return np.fromiter((_num(v) for v in a), np.float64, count=len(a))


def _num(v) -> float:
    if isinstance(v, str): v = v.strip()
    try:
        return float(v)
    except OverflowError:                       # an integer beyond float range
        return math.inf if v > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


def _is_missing(raw) -> np.ndarray:
    a = np.asarray(raw)
    if a.dtype.kind in 'iub': return np.zeros(a.shape, bool)
    if a.dtype.kind == 'f': return np.isnan(a)
    return np.fromiter((v is None or (isinstance(v, float) and math.isnan(v)) or
                        (isinstance(v, str) and not v.strip()) for v in a), bool, count=len(a))



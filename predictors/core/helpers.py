"""Small helpers every part of the model side shares, each written once: HTML escaping, JSON-safe values,
byte sizes, percentages and p-values as people read them, times like '24h', class labels of probability
rows, per-class precision and recall, quantile bins, the image file suffixes and the files inputs name.

Nothing here imports numpy at module level, so a thin app kernel may import it.
"""
from __future__ import annotations

import datetime as dt
import glob
import html
import math
import os
from pathlib import Path
from predictors.core.errors import ModelError

__all__ = ['esc', 'input_fields', 'some_names', 'json_safe', 'json_default', 'byte_size', 'pct', 'p_value', 'figure', 'parse_since', 'labels_of',
           'per_class', 'quantile_bins', 'number_reference', 'host_name', 'IMAGE_SUFFIXES', 'plain_number',
           'expand_inputs', 'plain_json']

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff')


def esc(s) -> str:
    "`s` as text safe inside HTML (quotes too)."
    return html.escape(str(s))


def some_names(names, shown: int = 20) -> str:
    "The first `shown` of `names` joined by commas, and how many more there are (a list of any length stays short)."
    names = list(names)
    more = f' … and {len(names) - shown:,} more' if len(names) > shown else ''
    return ', '.join(map(str, names[:shown])) + more


def json_safe(v, whole: bool = False):
    """A scalar as JSON keeps it: numpy scalars plain Python, NaN and ±inf None; `whole=True` also writes
    a float that is a whole number as an int (3.0 -> 3)."""
    if v is None or isinstance(v, (str, bytes, bool, list, dict)): return v
    if hasattr(v, 'item'): v = v.item()           # numpy scalars
    if isinstance(v, float):
        if not math.isfinite(v): return None
        if whole and v.is_integer() and abs(v) < 2**53: return int(v)
    return v


def plain_json(v):
    "`v` with every container made a plain dict or list and every scalar `json_safe` (numpy values, NaN): for JSON."
    if isinstance(v, dict): return {str(k): plain_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [plain_json(x) for x in v]
    return json_safe(v)


def json_default(o):
    "`json.dumps(default=…)` for numpy values and paths."
    if isinstance(o, Path): return str(o)
    if hasattr(o, 'tolist'): return o.tolist()    # numpy scalars and arrays
    raise TypeError(f'{type(o).__name__} is not JSON serialisable')


def byte_size(n: float) -> str:
    "A number of bytes as people read it: '512 bytes', '3 MB', '10.4 MB'."
    for unit in ('bytes', 'KB', 'MB', 'GB'):
        if n < 1024 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'bytes' or float(n).is_integer() else f'{n:.1f} {unit}'
        n /= 1024


def pct(x) -> str:
    "A share as a percentage with one decimal; '–' when unknown."
    return '–' if x is None else f'{x:.1%}'


def p_value(p) -> str:
    "A p-value with four decimals, '< 0.0001' below that; '–' when unknown."
    return '–' if p is None else ('< 0.0001' if p < 1e-4 else f'{p:.4f}')


def plain_number(v) -> str:
    "A number as a message says it: 1,484,705 (never 1484705.0), 0.1235, 1e+300; '?' when unknown."
    if v is None: return '?'
    v = float(v)
    return f'{int(v):,}' if v.is_integer() and abs(v) < 1e15 else f'{v:,.4g}'


def figure(v, units: str | None = None) -> str:
    "A number with four significant digits (and its units); '–' when unknown."
    return '–' if v is None else f'{v:.4g}' + (f' {units}' if units else '')


def host_name(value: str) -> str:
    "A Host header's name, without its port and brackets, in lower case ('[::1]:8865' -> '::1')."
    v = (value or '').strip().lower()
    if v.startswith('['): return v[1:v.find(']')] if ']' in v else v
    return v.rsplit(':', 1)[0] if v.count(':') == 1 else v


def parse_since(text: str | None, now: float | None = None) -> float | None:
    "'24h', '7d', '30m' or an ISO time (UTC if no zone) as a Unix time; None for all time."
    if not text: return None
    import time
    now = time.time() if now is None else now
    t = text.strip().lower()
    units = {'m': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}
    if t[:-1].replace('.', '', 1).isdigit() and t[-1] in units: return now - float(t[:-1]) * units[t[-1]]
    try:
        d = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'cannot read the time {text!r}: use 24h, 7d, 30m or an ISO time like 2026-11-24T09:00') from None
    if d.tzinfo is None: d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


def labels_of(classes, probs):
    "The most likely class of each row of `probs` (n × classes, NaN rows: the first class) as an object array."
    import numpy as np
    return np.array(classes, dtype=object)[np.nan_to_num(np.asarray(probs), nan=-1).argmax(1)]


def per_class(c, truth, pred) -> dict:
    "Support, predicted count, precision and recall of class `c` from arrays of true and predicted classes."
    said, was = pred == c, truth == c
    tp = int((said & was).sum())
    return dict(support=int(was.sum()), predicted=int(said.sum()),
                precision=tp / int(said.sum()) if said.any() else None,
                recall=tp / int(was.sum()) if was.any() else None)


def quantile_bins(v, bins: int = 10):
    "Quantile bin edges of the numbers `v` and the share of them in each bin (numpy arrays)."
    import numpy as np
    v = np.asarray(v, float)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)))
    counts = np.histogram(v, bins=edges)[0] if len(edges) > 1 else np.array([len(v)])
    return edges, counts / len(v)


def number_reference(v, bins: int = 10, sample: int = 500, seed: int = 0) -> dict:
    """What drift compares numbers with: quantile bin edges, the share in each bin (6 decimals) and a seeded
    random sample of at most `sample` of the (finite) numbers `v`."""
    import numpy as np
    edges, props = quantile_bins(v, bins)
    v = np.asarray(v, float)
    pick = np.random.default_rng(seed).choice(v, min(sample, len(v)), replace=False)
    return dict(edges=[float(e) for e in edges], props=[round(float(x), 6) for x in props],
                sample=[float(x) for x in pick])


def input_fields(card: dict) -> list[dict]:
    "The fields a model of `card` reads: its schema's inputs, the target left out."
    schema = card.get('schema') or {}
    return [c for c in schema.get('inputs', []) if c['name'] != schema.get('target')]


def expand_inputs(inputs: list, suffixes: tuple | None, noun: str) -> list[str]:
    """Files named by paths, globs or folders, in the order given (each glob sorted); an input that names nothing is
    an error. `suffixes`: the files a folder gives (None: every file in it); `noun`: what they are, for the message."""
    out = []
    for x in map(str, inputs):
        if os.path.isdir(x):
            found = sorted(str(p) for p in Path(x).rglob('*') if p.is_file() and (suffixes is None or p.suffix.lower() in suffixes))
        elif os.path.isfile(x): found = [x]                       # before globs: a file may be named 'a[1].png'
        elif glob.has_magic(x): found = sorted(p for p in glob.glob(x, recursive=True) if os.path.isfile(p))
        else: found = []
        if not found and not os.path.exists(x) and not glob.has_magic(x): raise ModelError(f'{x}: no such file or folder.')
        if not found: raise ModelError(f'{x}: no {noun} file there.')
        out += found
    return out

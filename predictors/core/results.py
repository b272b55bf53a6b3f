"""What a prediction returns, in plain Python: the same objects in-process and over HTTP.

Nothing here imports numpy, pandas, torch or fastai, so a thin app kernel can use them.
"""
from __future__ import annotations

import base64
import csv
import re
from dataclasses import dataclass, field

__all__ = ['Prediction', 'ImageResult', 'CsvSummary', 'sentence', 'summarise_scored', 'ERROR_PREFIX', 'STREAM_ERROR',
           'upload_name', 'class_label', 'natural_key', 'is_unsure', 'UNSURE_BELOW', 'Explanation', 'explanation_summary',
           'field_text', 'field_name', 'value_text', 'is_number', 'number_text', 'NONE_OF_THESE', 'OUTSIDE', 'MAX_STDS',
           'LABEL_DELIM', 'label_set_text', 'label_set', 'TEXT_MAX_CHARS', 'log_entries', 'input_form']

NONE_OF_THESE = 'none of these'   # the truth of an image that shows none of a model's classes (feedback)
ERROR_PREFIX = 'error: '   # a scored CSV's `problem` that starts so: the row has no prediction
STREAM_ERROR = '\n# error: '   # ends a scored CSV stream that broke part-way, followed by the reason
TEXT_MAX_CHARS = 20_000   # the longest message a text model is given (the text app's box holds as many)
LABEL_DELIM = ';'   # between the labels of a multi-label answer or truth, as logged ('Lemon;Orange')


def label_set_text(labels) -> str:
    "A multi-label answer or truth as one text, as logged: its labels joined by `LABEL_DELIM`, `NONE_OF_THESE` for none."
    return LABEL_DELIM.join(labels) if labels else NONE_OF_THESE


def label_set(value) -> list[str]:
    "The labels of a logged multi-label answer or truth (`label_set_text`'s text, or a list already): [] for none."
    if value is None: return []
    items = value if isinstance(value, (list, tuple, set)) else str(value).split(LABEL_DELIM)
    return [str(x).strip() for x in items if str(x).strip() and str(x).strip() != NONE_OF_THESE]


@dataclass
class Prediction:
    """The answer for one input: the class and the probability of each class (a classifier), or the
    number and the range most such answers fall in (a regression: `range`); warnings, or an error."""
    prediction: str | float | None = None
    probabilities: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    error: str | None = None
    id: int | None = None         # the answer's id in the prediction log (what feedback refers to)
    range: list | None = None     # regression: [low, high] where the card's share of held-out answers fell

    @property
    def ok(self) -> bool: return self.error is None

    @property
    def probability(self) -> float | None:
        return self.probabilities.get(self.prediction) if self.prediction is not None else None

    def to_dict(self) -> dict:
        d = dict(error=self.error) if self.error else dict(prediction=self.prediction, probabilities=self.probabilities)
        if self.range is not None and not self.error: d['range'] = self.range
        if self.warnings: d['warnings'] = self.warnings
        if self.id is not None: d['id'] = self.id          # its row in the log (a failed one too)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'Prediction':
        return cls(d.get('prediction'), d.get('probabilities') or {}, d.get('warnings') or [], d.get('error'), d.get('id'),
                   d.get('range'))

    # what `to_dict` holds, as the API publishes it (`predictors.api.schemas`): {field: (type, default, description)}
    WIRE = dict(
        prediction=(str | float | None, None, 'the class (a classifier) or the number in the target\'s units (a regression)'),
        probabilities=(dict[str, float], {}, 'the probability of every class (a classifier; none for a number)'),
        range=(list[float] | None, None, 'a regression: [low, high], where the card\'s share of held-out answers of '
                                         'that size fell'),
        warnings=(list[str], [], 'what the answer had to assume (an empty field, a value outside the training range)'),
        error=(str | None, None, 'why this input has no answer (it failed alone)'),
        id=(int | None, None, "the answer's id in the prediction log (what feedback refers to)"))


@dataclass
class ImageResult:
    """One file's answer: the class and the probability of each class, or the reason it was rejected. A multi-label
    model's answer has `labels` (each above its threshold; [] for none of them) and `prediction` their text."""
    name: str
    size: int = 0
    prediction: str | None = None
    probabilities: dict = field(default_factory=dict)
    error: str | None = None
    image: object = None          # the decoded RGB PIL image (in-process only)
    stats: dict = field(default_factory=dict)
    heatmap: bytes | None = None  # PNG: where the model looked for its top class, over the image as it saw it
    id: int | None = None         # the answer's id in the prediction log (what feedback refers to)
    unsure: bool | None = None    # the model side's verdict: too unlike what it learnt from to name a class (`is_unsure`)
    labels: list | None = None    # a multi-label answer: the labels above their thresholds, most likely first
    heatmaps: dict | None = None  # a multi-label answer: {label: PNG} where the model looked for each of its labels

    @property
    def ok(self) -> bool: return self.error is None

    @property
    def probability(self) -> float | None:
        "The answer's probability: its class's; None for a failed file or a multi-label answer (a set of labels)."
        return None if not self.ok or self.labels is not None else self.probabilities.get(self.prediction)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self, k: int | None = None) -> dict:
        if self.error: return dict(file=self.name, size=self.size, error=self.error, **({'id': self.id} if self.id is not None else {}))
        probs = dict(self.top(k)) if k else self.probabilities
        d = dict(file=self.name, size=self.size, prediction=self.prediction, probability=self.probability,
                 unsure=bool(self.unsure), probabilities=probs)
        if self.labels is not None: d['labels'] = list(self.labels)
        png = lambda b: base64.b64encode(b).decode()
        if self.heatmap is not None: d['heatmap_png'] = png(self.heatmap)
        if self.heatmaps: d['heatmaps_png'] = {c: png(b) for c, b in self.heatmaps.items()}
        if self.id is not None: d['id'] = self.id
        return d

    WIRE = dict(
        file=(str, ..., 'the file\'s name as sent'), size=(int, 0, 'its size in bytes'),
        prediction=(str | None, None, 'the class; a multi-label answer: its labels\' text'),
        probability=(float | None, None, 'the probability of the class (none for a multi-label answer)'),
        unsure=(bool | None, None, 'true: the picture is too unlike the training pictures to name a class (the answer '
                                   'reads "Not sure"); the card says how it is decided'),
        probabilities=(dict[str, float], {}, 'every class\'s probability (a multi-label model: each label\'s own)'),
        error=(str | None, None, 'why the file has no answer (it failed alone)'),
        heatmap_png=(str | None, None, 'explain: base64 PNG of where the model looked'),
        labels=(list[str] | None, None, 'a multi-label model: every label at or above its threshold, the most likely '
                                        'first ([]: none of them); `prediction` is their text'),
        heatmaps_png=(dict[str, str] | None, None, 'explain, a multi-label model: base64 PNG per label'),
        id=(int | None, None, "the answer's id in the prediction log (what feedback refers to)"))

    @classmethod
    def from_dict(cls, d: dict) -> 'ImageResult':
        return cls(name=d.get('file', ''), size=d.get('size', 0), prediction=d.get('prediction'),
                   probabilities=d.get('probabilities') or {}, error=d.get('error'),
                   heatmap=base64.b64decode(d['heatmap_png']) if d.get('heatmap_png') else None, id=d.get('id'),
                   unsure=d.get('unsure'), labels=d.get('labels'),
                   heatmaps={c: base64.b64decode(b) for c, b in d['heatmaps_png'].items()} if d.get('heatmaps_png') else None)


@dataclass
class Explanation:
    """Why one tabular answer: `base` (the average answer over the background rows) plus the sum of the
    fields' contributions is `probability`, the answer: a classifier's probability of `target` (its
    predicted class), or a regression's predicted number of `target` (`measure` 'value', in its units).
    `contributions`: {field, value, contribution}, the largest effect first."""
    target: str | None = None
    probability: float | None = None
    base: float | None = None
    contributions: list = field(default_factory=list)
    method: str = ''              # 'exact' or 'sampled (N permutations)'
    measure: str = 'probability'  # what `probability`, `base` and the contributions are: 'probability' or 'value'
    background: str = ''          # what the base is the average over
    warnings: list = field(default_factory=list)
    error: str | None = None
    related: list = field(default_factory=list)   # what else the answer rests on (a recommender: the items liked nearest it)

    @property
    def ok(self) -> bool: return self.error is None

    def to_dict(self) -> dict:
        if self.error: return dict(error=self.error, **({'warnings': self.warnings} if self.warnings else {}))
        d = dict(target=self.target, probability=self.probability, base=self.base, contributions=self.contributions,
                 method=self.method, background=self.background, measure=self.measure)
        if self.warnings: d['warnings'] = self.warnings
        if self.related: d['related'] = self.related
        return d

    WIRE = dict(
        target=(str | None, None, 'the answer explained: the predicted class, or the target of a number'),
        probability=(float | None, None, 'the answer: the probability of `target`, or the predicted number (`measure`)'),
        base=(float | None, None, 'the average answer over the background rows'),
        contributions=(list[dict], [], '{field, value, contribution}, the largest effect first; with `base` they add '
                                       'up to `probability`'),
        method=(str, '', "'exact' or 'sampled (N permutations)'"), background=(str, '', 'what `base` is the average over'),
        measure=(str, 'probability', "what `probability`, `base` and the contributions are: 'probability' or 'value'"),
        warnings=(list[str], [], 'what the explanation had to assume'), error=(str | None, None, 'why there is none'),
        related=(list[str], [], 'a recommender: the items the person liked that are nearest the one explained'))

    @classmethod
    def from_dict(cls, d: dict) -> 'Explanation':
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


UNSURE_BELOW = 0.5     # an image answer below this probability reads "Not sure" (card: `min_confidence`)


def class_label(card: dict, cls) -> str:
    "A class as people read it: the card's `labels` entry, else the name with underscores as spaces."
    return str((card.get('labels') or {}).get(cls) or str(cls).replace('_', ' ').strip())


def natural_key(text) -> list:
    "Sort key that orders numbers by value: corn_2 before corn_10."
    return [(0, int(t), '') if t.isdigit() else (1, 0, t.lower()) for t in re.split(r'(\d+)', str(text)) if t]


def is_unsure(card: dict, probabilities: dict) -> bool:
    "Whether the most likely class is below the card's `min_confidence` (default `UNSURE_BELOW`)."
    if not probabilities: return False
    return max(probabilities.values()) < float(card.get('min_confidence', UNSURE_BELOW))


def value_text(v) -> str:
    "A form value as people read it: 'unknown' for an empty one, text without its padding, 52 not 52.0."
    if v is None or (isinstance(v, float) and v != v): return 'unknown'
    if isinstance(v, float) and v.is_integer(): v = int(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool): return f'{v:,}'
    return str(v).strip() or repr(v)


def field_name(card: dict, name) -> str:
    "A column as people read it, as the form names it: the card's `labels` entry, else `education-num` -> 'Education num'."
    said = (card.get('labels') or {}).get(name)
    if said: return str(said)
    text = re.sub(r'[-_]+', ' ', str(name)).strip()
    return text[:1].upper() + text[1:] if text else str(name)


def field_said(card: dict, name) -> str:
    """A column named in a message: as the form names it, with the column itself when the card renames it
    ('Place in the household (relationship)'; 'Age'; 'Census weight (fnlwgt)' already says it), so a person
    at the form and one with the CSV both know which it is."""
    said, col = field_name(card, name), str(name)
    plain = re.sub(r'[-_]+', ' ', col).strip().lower()
    named = re.search(rf'(?<![\w-]){re.escape(col.lower())}(?![\w-])', said.lower())
    return said if named or plain == said.lower() else f'{said} ({col})'


def field_text(c: dict, kind: str | None = None, card: dict | None = None) -> str:
    """A field's value as a phrase: a category as its value ('Bachelors'), a number with its field named as the
    form names it ('Age 52'; the raw column without a `card`)."""
    v, name = c.get('value'), field_name(card, c['field']) if card is not None else c['field']
    if isinstance(v, str) and (kind == 'categorical' or kind is None):     # a category named by a word reads alone
        return value_text(v) if value_text(v) != 'unknown' else f"{name} unknown"
    return f"{name} {value_text(v)}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


def explanation_summary(card: dict, e: Explanation, top: int = 3) -> str:
    "The top reasons in one plain-English sentence: what raised the chance of the answer most, what lowered it."
    if not e.ok: return f'No explanation: {e.error}.'
    kinds = {c['name']: c.get('kind') for c in (card.get('schema') or {}).get('inputs', [])}
    text = lambda c: field_text(c, kinds.get(c['field']), card)
    tiny = 1e-4 if e.measure == 'probability' else 1e-6 * max(1.0, abs(e.probability or 0))
    up = [c for c in e.contributions if c['contribution'] > tiny][:top]
    down = [c for c in e.contributions if c['contribution'] < -tiny][:1]
    what = f'the chance of {e.target}' if e.measure == 'probability' else f'the predicted {e.target}'
    out = (f'{_and([text(c) for c in up])} raised {what} most' if up
           else f'Nothing raised {what} above the average')
    if down: out += f'; {text(down[0])} lowered it most'
    return out + '.'


def is_number(v) -> bool:
    "Whether an answer is a number (a regression's) rather than a class."
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number_text(v: float, card: dict) -> str:
    """A predicted number as people read it: whole, with thousands separated, for a whole-number target
    or one of 100 and more ('241', '1,250'), else three significant digits ('0.0452', '12.3')."""
    if (card.get('regression') or {}).get('integer') or abs(v) >= 100: return f'{round(v):,}'
    return f'{v:.3g}'


class _Keep(dict):
    "str.format_map that leaves unknown `{names}` in a card's sentence as they are."
    def __missing__(self, k): return '{' + k + '}'


def _value_sentence(card: dict, pred: Prediction) -> str:
    "A regression's answer: 'About 241 bikes rented in that hour (80 % of similar hours: 190–300).'"
    reg, tpl = card.get('regression') or {}, card.get('templates') or {}
    units = reg.get('units')
    words = _Keep(value=number_text(pred.prediction, card), units=units or '',
                  target=(card.get('schema') or {}).get('target') or card.get('target') or 'value',
                  share=f'{round(float(reg.get("interval", 0.8)) * 100)} %')
    text = (tpl.get('value') or ('Predicted {target}: about {value} {units}' if units else
                                 'Predicted {target}: about {value}')).format_map(words)
    if pred.range:
        words.update(low=number_text(pred.range[0], card), high=number_text(pred.range[1], card))
        text += ' (' + (tpl.get('range') or '{share} of similar cases: {low}–{high}').format_map(words) + ')'
    return text + _guess(pred) + '.'


def sentence(card: dict, pred: Prediction) -> str:
    "The answer in plain English, from the card's template for the class (or the number) when it has one."
    if not pred.ok: return f'No prediction: {pred.error}.'
    if is_number(pred.prediction): return _value_sentence(card, pred)
    tpl = (card.get('templates') or {}).get(pred.prediction)
    pct = f'{pred.probability * 100:.1f}%'
    target = (card.get('schema') or {}).get('target') or card.get('target') or 'class'
    what = f'{pred.prediction} ({tpl})' if tpl else pred.prediction
    return f'Predicted {target}: {what}, with probability {pct}' + _guess(pred) + '.'


OUTSIDE = 'is outside the training range'     # the warning of a number beyond what the model learnt from
MAX_STDS = 1e4   # a number this many standard deviations from the training mean is refused (it would overflow)


def _guess(pred: Prediction) -> str:
    "What the sentence adds when an input is outside the training range: the answer is a guess, and why."
    outside = [w for w in pred.warnings if OUTSIDE in w]
    return f' — but {"; ".join(outside)}, so this answer is a guess' if outside else ''


@dataclass
class CsvSummary:
    "What a scored CSV holds: rows, failed rows with their reasons (the first `keep`), the first rows."
    rows: int = 0
    failed: int = 0
    problems: list = field(default_factory=list)   # (row number from 1, reason)
    header: list = field(default_factory=list)
    head: list = field(default_factory=list)       # the first rows, as lists of strings
    warned: int = 0                                # rows scored with a warning
    warnings: list = field(default_factory=list)   # (row number from 1, warning) of the first `keep`


def summarise_scored(fh, keep: int = 50, head: int = 10) -> CsvSummary:
    "Read a scored CSV (text file object, from the start) once: counts, reasons of failed rows, warnings, first rows."
    s = CsvSummary()
    reader = csv.reader(fh)
    s.header = next(reader, [])
    at = s.header.index('problem') if 'problem' in s.header else None
    for row in reader:
        s.rows += 1
        if len(s.head) < head: s.head.append(row)
        if at is None or at >= len(row) or not row[at]: continue
        if row[at].startswith(ERROR_PREFIX):
            s.failed += 1
            if len(s.problems) < keep: s.problems.append((s.rows, row[at][len(ERROR_PREFIX):]))
        else:
            s.warned += 1
            if len(s.warnings) < keep: s.warnings.append((s.rows, row[at]))
    return s


def upload_name(name, i: int) -> str:
    "An uploaded file's base name as text (a browser sends no paths; a forged one is cut to its last part)."
    name = str(name) if name else f'file {i + 1}'
    return name.replace('\\', '/').rsplit('/', 1)[-1][:200] or f'file {i + 1}'


def log_entries(rows: list[dict], preds: list[Prediction], seconds: float) -> list[dict]:
    "Log entries for the inputs `rows` and their answers (latency: the call's time per row)."
    per = seconds * 1000 / max(1, len(preds))
    return [dict(inputs=r, prediction=p.prediction, probabilities=p.probabilities,
                 latency_ms=None if p.error else round(per, 3), error=p.error) for r, p in zip(rows, preds)]


def input_form(inputs: list) -> str:
    "The form of the inputs of a call: 'files' (`(name, bytes)` pairs) or 'rows' (records of column: value)."
    return 'files' if inputs and all(isinstance(x, tuple) for x in inputs) else 'rows'


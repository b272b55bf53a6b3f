"""The form of the tabular app: one control per input column of a schema, numbers read as typed.

Nothing here names a column or a category: every control comes from the schema in the card.
"""
from __future__ import annotations

import math
import re

import ipywidgets as W
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

from predictors.core.helpers import plain_number
from predictors.core.results import MAX_STDS, field_name

from .common import esc

__all__ = ['TabularForm', 'parse_number', 'option_label', 'typed_number', 'css_name']

_THOUSANDS = re.compile(r'^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$')


def option_label(v) -> str:
    "A category as shown in a dropdown: its surrounding spaces dropped, a bare '?' (missing in the data) as unknown."
    text = str(v).strip()
    return 'unknown (?)' if text == '?' else (text or repr(v))


def parse_number(text: str, integer: bool, label: str):
    """The number typed in a field, or (None, why not) in plain words. Empty is unknown (NaN: the
    model's fill value is used); '15,000' and '1e12' are read as written."""
    t = (text or '').strip().replace('_', '')
    if not t: return float('nan'), None
    if _THOUSANDS.match(t): t = t.replace(',', '')
    try:
        x = float(t)
    except ValueError:
        return None, f'{label}: \u2018{text.strip()}\u2019 is not a number'
    if not math.isfinite(x): return None, f'{label}: \u2018{text.strip()}\u2019 is not a finite number'
    if integer and not x.is_integer():
        return None, f'{label} takes whole numbers: \u2018{text.strip()}\u2019 is not one'
    return (int(x) if integer and abs(x) < 2 ** 53 else x), None


class TabularForm:
    """One control per input column of a schema; `values()` gives {column: exact training value}.

    Numbers are typed as text and read here (`parse_number`), so what is used is what was typed:
    a value that is not a number (or not a whole one, for an integer column) is marked at once
    and listed by `problems()`. `labels`/`help`: readable names and one-line hints per column
    (a card's optional `labels` and `help`). Enter in a number field calls `on_submit`'s function.
    """

    def __init__(self, schema: dict, labels: dict | None = None, help: dict | None = None):
        self.schema, self.controls, self.unknown, self.notes, rows = schema, {}, {}, {}, []
        self.labels = {c['name']: field_name({'labels': labels}, c['name']) for c in schema['inputs']}
        self._cols, self._typed, self._submit = {c['name']: c for c in schema['inputs']}, {}, []
        # one layout and style object per look, shared by every row: each is a widget model the
        # page must fetch, so a 14-column form needs ~60 models instead of ~190
        look = dict(label=DescriptionStyle(description_width='190px'), text=TextStyle(description_width='190px'), cat=W.Layout(width='450px', max_width='100%'),
                    num=W.Layout(width='350px', max_width='100%'), unk=W.Layout(width='90px'), box=CheckboxStyle(),
                    row=W.Layout(align_items='center', flex_flow='row wrap'), hint=HTMLStyle(), hint_box=W.Layout())
        for col in schema['inputs']:
            name, label = col['name'], self.labels[col['name']]
            tip = (help or {}).get(name)
            common = dict(description=label, description_tooltip=tip or (str(name) if label != str(name) else None),
                          style=look['label'])
            if col['kind'] == 'categorical':
                values = col.get('values') or []
                ctl = W.Dropdown(options=[(option_label(v), v) for v in values],
                                 value=col['default'] if col['default'] in values else (values[0] if values else None),
                                 layout=look['cat'], **common)
                hint = f'{len(values)} values seen in training'
            else:
                default = col.get('default')
                ok = default is not None and math.isfinite(default)
                ctl = W.Text(value=typed_number(default) if ok else '', continuous_update=True,   # synced before Enter's submit
                             placeholder=self._placeholder(name), layout=look['num'],
                             **dict(common, style=look['text']))
                ctl.on_submit(lambda _: [fn() for fn in self._submit])
                ctl.observe(lambda ch, n=name: self._check(n), 'value')
                unk = W.Checkbox(value=False, description=f'<span class="app-sr">{esc(label)} </span>unknown',
                                 description_allow_html=True, indent=False, layout=look['unk'], style=look['box'])
                unk.observe(lambda ch, n=name: self._set_unknown(n, ch['new']), 'value')
                self.unknown[name] = unk
                hint = (f'training range {plain_number(col["min"])} – {plain_number(col["max"])}' if col.get('min') is not None else
                        f'training mean {plain_number(col["mean"])} (range unknown)' if col.get('mean') is not None else '')
            if tip: hint = tip + (f' · {hint}' if hint else '')
            ctl.add_class('app-input'); ctl.add_class(f'app-input-{css_name(name)}')
            self.controls[name] = ctl
            note = W.HTML(f'<span class="app-hint">{esc(hint)}</span>', style=look['hint'], layout=look['hint_box'])
            note.add_class('app-note')
            self.notes[name] = (note, hint)
            parts = [ctl] + ([self.unknown[name]] if name in self.unknown else []) + [note]
            rows.append(W.HBox(parts, layout=look['row']))
        self.widget = W.VBox(rows)
        self.widget.add_class('app-form')

    def on_change(self, fn) -> None:
        "Call `fn()` whenever a value or an 'unknown' box of the form changes."
        for w in [*self.controls.values(), *self.unknown.values()]: w.observe(lambda ch: fn(), 'value')

    def on_submit(self, fn) -> None:
        "Call `fn()` when Enter is pressed in a number field."
        self._submit.append(fn)

    def _placeholder(self, name: str) -> str:
        return 'a whole number' if self._cols[name].get('integer') else 'a number'

    def _read(self, name: str):
        "The number in field `name`, or (None, why not): `parse_number` of its text."
        return parse_number(self.controls[name].value, bool(self._cols[name].get('integer')), self.labels[name])

    def _set_unknown(self, name: str, unknown: bool) -> None:
        "Ticked: the field is emptied and disabled (the model's fill value is used); unticked: what was typed comes back."
        ctl = self.controls[name]
        if unknown:
            self._typed[name] = ctl.value
            ctl.value, ctl.placeholder, ctl.disabled = '', 'unknown', True
        else:
            ctl.disabled, ctl.placeholder = False, self._placeholder(name)
            if not ctl.value: ctl.value = self._typed.pop(name, '')

    def _check(self, name: str) -> None:
        "Mark a number field whose text is not a number (or not a whole one), or say how a number was read."
        ctl, (note, hint) = self.controls[name], self.notes[name]
        x, why = self._read(name)
        if why:
            ctl.add_class('app-invalid')
            note.value = f'<span class="app-field-error" role="alert">{esc(why)}</span>'
            return
        ctl.remove_class('app-invalid')
        read = '' if x != x or typed_number(x) == ctl.value.strip() else f' · read as {plain_number(x)}'
        empty = ' · empty: the model\u2019s fill value is used' if x != x and not self.unknown[name].value else ''
        col = self._cols[name]
        if x == x and col.get('min') is not None and not col['min'] <= x <= col['max']:
            far = bool(col.get('std')) and abs(x - col.get('mean', 0)) / col['std'] > MAX_STDS
            ctl.add_class('app-outside')
            note.value = (f'<span class="app-field-warning">{esc(plain_number(x))} is outside the training range '
                          f'{esc(plain_number(col["min"]))} – {esc(plain_number(col["max"]))}: '
                          + ('so far that the model will not answer' if far else 'the answer will be a guess')
                          + f'{esc(read)}</span>')
            return
        ctl.remove_class('app-outside')
        note.value = f'<span class="app-hint">{esc(hint + read + empty)}</span>'

    def problems(self) -> list[str]:
        "Why the form cannot be answered as it stands (a number field that does not hold a number), in plain words."
        out = []
        for name, ctl in self.controls.items():
            if name in self.unknown and not self.unknown[name].value:
                why = self._read(name)[1]
                if why: out.append(why)
        return out

    def values(self) -> dict:
        "The inputs as the model expects them; unknown or empty numbers are NaN (the predictor fills them)."
        out = {}
        for name, ctl in self.controls.items():
            if name not in self.unknown: out[name] = ctl.value
            elif self.unknown[name].value: out[name] = float('nan')
            else: out[name] = self._read(name)[0]
        return out

    def echo(self, values: dict) -> str:
        "The values an answer was given for, as the page shows them: 'Age 52 · Workclass Private · …'."
        parts = []
        for name, v in values.items():
            if isinstance(v, float) and v != v: text = 'unknown'
            elif name in self.unknown: text = plain_number(v)
            else: text = option_label(v)
            parts.append(f'{self.labels[name]} {text}')
        return ' · '.join(parts)


def typed_number(v) -> str:
    "A number as it is put in a field: no thousands separators, whole numbers without '.0'."
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 2 ** 53 else repr(f)


def css_name(name) -> str:
    return ''.join(ch if ch.isalnum() else '-' for ch in str(name))

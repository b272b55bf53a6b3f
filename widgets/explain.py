"""The explanation of a tabular answer as the apps show it: a sentence and a chart of each field's effect."""
from __future__ import annotations

from predictors.core.results import Explanation, explanation_summary, field_name, field_text, number_text, value_text

from .common import esc, message

__all__ = ['explanation_html', 'WHY_CSS']

WHY_CSS = """<style>
.app-why {font-family: system-ui, sans-serif; font-size: 13px; max-width: 760px; margin-top: 8px}
.app-why h3 {font-size: 15px; margin: 4px 0}
.app-why-summary {font-size: 14px; margin: 4px 0 8px}
.app-why-row {display: flex; align-items: center; gap: 6px; margin: 2px 0}
.app-why-label {width: 38%; overflow-wrap: anywhere}
.app-why-track {flex: 1; display: flex; min-width: 120px}
.app-why-half {flex: 1; display: flex; height: 14px; background: #f3f4f6}
.app-why-half.app-neg {justify-content: flex-end; border-right: 1px solid #667}
.app-why-bar {display: block; height: 14px}
.app-why-up {background: #1f9d55}
.app-why-down {background: #d93025}
.app-why-pts {width: 74px; text-align: right; font-variant-numeric: tabular-nums}
.app-why-key span {display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px}
.app-why-note {color: #556; font-size: 12px}
</style>"""


def _pts(x: float) -> str:
    "A change of probability in percentage points."
    return f'{x * 100:+.1f} pts'


def _units(card: dict, x: float) -> str:
    "A change of a predicted number in its units: '+12 bikes'."
    units = (card.get('regression') or {}).get('units')
    return ('+' if x >= 0 else '−') + number_text(abs(x), card) + (f' {units}' if units else '')


def explanation_html(card: dict, e: Explanation) -> str:
    "Why the answer: the summary sentence, then one bar per field (towards the answer or away), largest first."
    if not e.ok: return message(f'No explanation for this answer: {esc(e.error)}', 'warn', 'app-why')
    kinds = {c['name']: c.get('kind') for c in (card.get('schema') or {}).get('inputs', [])}
    peak = max((abs(c['contribution']) for c in e.contributions), default=0) or 1.0
    target = esc(e.target)
    number = e.measure == 'value'
    change = (lambda x: _units(card, x)) if number else _pts
    size = (lambda x: change(abs(x))[1:]) if number else (lambda x: f'{abs(x) * 100:.1f} percentage points')
    rows = []
    for c in e.contributions:
        x, text = c['contribution'], esc(field_text(c, kinds.get(c['field']), card))
        width = f'{min(1.0, abs(x) / peak) * 100:.1f}%'
        way = (f'the predicted {target} {"up" if x >= 0 else "down"}' if number else
               f'{"towards" if x >= 0 else "away from"} {target}')
        bar = f'<span class="app-why-bar {"app-why-up" if x >= 0 else "app-why-down"}" style="width:{width}"></span>'
        rows.append(
            f'<div class="app-why-row" role="listitem" data-field="{esc(c["field"])}" '
            f'aria-label="{text} pushed {way} by {esc(size(x))}">'
            f'<span class="app-why-label">{esc(field_name(card, c["field"]))}: {esc(value_text(c["value"]))}</span>'
            f'<span class="app-why-track" aria-hidden="true"><span class="app-why-half app-neg">{bar if x < 0 else ""}</span>'
            f'<span class="app-why-half">{bar if x >= 0 else ""}</span></span>'
            f'<span class="app-why-pts" aria-hidden="true">{esc(change(x))}</span></div>')
    return (f'<div class="app-why" role="region" aria-label="Why this answer">'
            f'<h3>Why: from the average {_ends(card, e)}</h3>'
            f'<p class="app-why-summary">{esc(explanation_summary(card, e))}</p>'
            f'<div class="app-why-key app-why-note"><span class="app-why-up"></span>pushed '
            f'{"up" if number else "towards " + target}<span class="app-why-down"></span>pushed '
            f'{"down" if number else "away from it"}</div>'
            f'<div role="list">{"".join(rows)}</div>'
            f'<p class="app-why-note">Each field\'s share of the change from the average answer over '
            f'{esc(e.background)}: {esc(e.method)} Shapley values, which add up to the answer.</p></div>')


def _ends(card: dict, e: Explanation) -> str:
    "'37% to 24% <50k', or '189 to 241 bikes' for a number."
    if e.measure != 'value': return f'{e.base:.0%} to {e.probability:.0%} {esc(e.target)}'
    units = (card.get('regression') or {}).get('units')
    return (f'{esc(number_text(e.base, card))} to {esc(number_text(e.probability, card))} '
            f'{esc(units or e.target)}')

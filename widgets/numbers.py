"""What the tabular app shows differently when a model predicts a number (a regression): the held-out
errors in its title, the question for the real number, and what a scored file holds."""
from __future__ import annotations

import ipywidgets as W

from predictors.core.results import is_number, number_text
from predictors.kinds import kind_of

from .common import esc, message

__all__ = ['NumberFeedback', 'held_out', 'scored_columns']


def held_out(card: dict) -> str:
    "How good the model was on held-out data, as the title says it: accuracy, or the typical error in its units."
    m = card.get('metrics') or {}
    if m.get('accuracy') is not None: return f', held-out accuracy {m["accuracy"]:.1%}'
    if m.get('mae') is None: return ''
    units = (card.get('regression') or {}).get('units')
    r2 = f', R² {m["r2"]:.2f}' if m.get('r2') is not None else ''
    return f', held-out error {number_text(m["mae"], card)}{" " + units if units else ""} on average (MAE{r2})'


def scored_columns(card: dict) -> str:
    "What the scored file's extra columns are, in a sentence."
    if kind_of(card).answer.name == 'number':
        share = f'{round(float((card.get("regression") or {}).get("interval", 0.8)) * 100)} %'
        return (f'a prediction, and the range <code>low</code>–<code>high</code> where {share} of held-out answers '
                f'of that size fell')
    return 'a prediction and one probability column per class'


class NumberFeedback:
    """'Was this right?' for a number: the real value, typed and sent; stored against the answer (`send(id, truth)`:
    a model service's `feedback`). The box says what was recorded; the person may correct it."""

    def __init__(self, card: dict, prediction_id: int, prediction: float, send):
        self.card, self.id, self.prediction, self._send = card, prediction_id, prediction, send
        target = (card.get('schema') or {}).get('target') or card.get('target') or 'value'
        self.value = W.Text(placeholder=number_text(prediction, card), description=f'The real {target}',
                            style={'description_width': 'initial'}, layout=W.Layout(width='260px'))
        self.value.add_class('app-feedback-value')
        self.button = W.Button(description='Send', icon='check', layout=W.Layout(width='80px'))
        self.button.add_class('app-feedback-send')
        self.status = W.HTML(); self.status.add_class('app-feedback-status')
        self.button.on_click(lambda _: self.send(self.value.value))
        self.value.on_submit(lambda _: self.send(self.value.value))
        ask = W.HTML('<span style="font:13px system-ui">Was this right? Tell the real number once you know it:</span>',
                     layout=W.Layout(margin='0 4px 0 0'))
        self.widget = W.VBox([W.HBox([ask, self.value, self.button], layout=W.Layout(align_items='center',
                                                                                       flex_flow='row wrap')), self.status])
        self.widget.add_class('app-feedback')

    def send(self, text: str):
        "Store the number typed as the real value of this answer and say so (or why it could not be stored)."
        text = (text or '').strip()
        try:
            problem = self._send(self.id, text) if text else 'type the real number first'
        except Exception as e:  # noqa: BLE001 - the answer stands; only the feedback is missing
            problem = str(e)
        if problem:
            self.status.value = message(f'Your answer could not be recorded: {esc(problem)}', 'err', 'app-feedback-error')
            return
        value = float(text.replace(',', ''))
        miss = value - self.prediction if is_number(self.prediction) else None
        said = (f'{number_text(value, self.card)} (the answer was off by {number_text(abs(miss), self.card)})'
                if miss is not None else number_text(value, self.card))
        self.status.value = (f'<span class="app-feedback-thanks" role="status" style="font:13px system-ui;color:#1f6f3f">'
                             f'Thank you: recorded as {esc(said)}.</span>')

"""'Was this right?' under an answer: yes, or the right class (for images also *none of these*); stored in the
prediction log against the answer. Under a *Not sure* answer it asks *What is it?*: there is no claim to confirm."""
from __future__ import annotations

import ipywidgets as W

from predictors.core.results import NONE_OF_THESE, class_label

from .common import esc, message

__all__ = ['FeedbackBox']

_NO = 'choose…'


class FeedbackBox:
    """Ask whether the answer `prediction` (logged as `prediction_id`) was right: *Yes*, or pick the
    right class among the others. `send(prediction_id, truth)` stores it (a model service's
    `feedback`); the box then says what was recorded, and the person may still change it."""

    def __init__(self, card: dict, prediction_id: int, prediction: str, send, compact: bool = False,
                 unsure: bool = False):
        self.card, self.id, self.prediction, self._send, self.unsure = card, prediction_id, prediction, send, unsure
        classes = list(card.get('classes') or [])
        if unsure: classes = [prediction] + [c for c in classes if c != prediction]      # the closest first
        options = [(class_label(card, c), c) for c in classes if unsure or c != prediction]
        if card.get('task') == 'image': options.append((NONE_OF_THESE, NONE_OF_THESE))
        self.yes = W.Button(description='Yes', icon='check', tooltip=f'The answer {class_label(card, prediction)} was right',
                            layout=W.Layout(width='70px', display='none' if unsure else None))
        self.yes.add_class('app-feedback-yes')
        self.no = W.Dropdown(options=[(_NO, None)] + options, index=0,
                             description='It is' if unsure else 'No, it was', style={'description_width': 'initial'},
                             layout=W.Layout(width='210px' if compact else '280px'))     # a visible label
        self.no.add_class('app-feedback-no')
        self.status = W.HTML(); self.status.add_class('app-feedback-status')
        self.yes.on_click(lambda _: self.send(self.prediction))
        self.no.observe(lambda ch: ch['new'] is not None and self.send(ch['new']), 'value')
        ask = W.HTML(f'<span style="font:13px system-ui">{"What is it?" if unsure else "Was this right?"}</span>',
                     layout=W.Layout(margin='0 4px 0 0'))
        row = W.HBox([ask, self.yes, self.no], layout=W.Layout(align_items='center', flex_flow='row wrap'))
        self.widget = W.VBox([row, self.status])
        self.widget.add_class('app-feedback')

    def send(self, truth: str):
        "Store `truth` as the right class for this answer and say so (or why it could not be stored)."
        try:
            problem = self._send(self.id, truth)
        except Exception as e:  # noqa: BLE001 - the answer stands; only the feedback is missing
            problem = str(e)
        if problem:
            self.status.value = message(f'Your answer could not be recorded: {esc(problem)}', 'err', 'app-feedback-error')
            return
        if truth == NONE_OF_THESE: said = 'none of its classes'
        elif self.unsure: said = f'it was {class_label(self.card, truth)}'
        elif truth == self.prediction: said = 'right'
        else: said = f'wrong: it was {class_label(self.card, truth)}'
        self.status.value = (f'<span class="app-feedback-thanks" role="status" style="font:13px system-ui;color:#1f6f3f">'
                             f'Thank you: recorded as {esc(said)}.</span>')

"""'Was this right?' under an answer: yes, or the right class (for images also *none of these*); stored in the
prediction log against the answer. Under a *Not sure* answer it asks *What is it?*: there is no claim to confirm.
Under a multi-label answer (`LabelsFeedback`): yes, or tick the labels the picture really shows (none is an answer too).
"""
from __future__ import annotations

import ipywidgets as W

from predictors.core.results import NONE_OF_THESE, class_label, label_set, label_set_text
from predictors.kinds import kind_of

from .common import esc, message

__all__ = ['FeedbackBox', 'LabelsFeedback']

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
        options += [(t, t) for t in kind_of(card).truths_also(card)]       # an image's: none of these
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
        self.status.value = (f'<span class="app-feedback-thanks" role="status" style="font:13px system-ui;color:#1f6f3f">'
                             f'Thank you: recorded as {esc(self.said(truth))}.</span>')

    def said(self, truth: str) -> str:
        "What was recorded, in words."
        if truth == NONE_OF_THESE: return 'none of its classes'
        if self.unsure: return f'it was {class_label(self.card, truth)}'
        return 'right' if truth == self.prediction else f'wrong: it was {class_label(self.card, truth)}'


class LabelsFeedback(FeedbackBox):
    """Ask whether a multi-label answer (`prediction`: its labels as logged) was right: *Yes*, or *No* and tick the
    labels the picture shows (the answer's are ticked to start with; none ticked: none of them), then *Send*."""

    def __init__(self, card: dict, prediction_id: int, prediction: str, send, compact: bool = False):
        self.card, self.id, self.prediction, self._send, self.unsure = card, prediction_id, prediction, send, False
        named = set(label_set(prediction))
        self.boxes = {c: W.Checkbox(value=c in named, description=class_label(card, c), indent=False,
                                    layout=W.Layout(width='auto', margin='0 8px 0 0'))
                      for c in card.get('classes') or []}
        self.yes = W.Button(description='Yes', icon='check', tooltip='Every label was right, and none is missing',
                            layout=W.Layout(width='70px'))
        self.yes.add_class('app-feedback-yes')
        self.no = W.Button(description='No', layout=W.Layout(width='70px'), tooltip='Tick the right labels')
        self.no.add_class('app-feedback-no')
        self.done = W.Button(description='Send', icon='paper-plane', layout=W.Layout(width='90px'))
        self.done.add_class('app-feedback-send')
        self.pick = W.VBox([W.HTML('<span style="font:12px system-ui">It shows (tick every one; none ticked: none of '
                                   'them):</span>'), W.Box(list(self.boxes.values()), layout=W.Layout(
                                       flex_flow='row wrap')), self.done], layout=W.Layout(display='none'))
        self.pick.add_class('app-feedback-labels')
        self.status = W.HTML(); self.status.add_class('app-feedback-status')
        self.yes.on_click(lambda _: self.send(self.prediction))
        self.no.on_click(lambda _: setattr(self.pick.layout, 'display', None))
        self.done.on_click(lambda _: self.send(label_set_text([c for c, b in self.boxes.items() if b.value])))
        ask = W.HTML('<span style="font:13px system-ui">Was this right?</span>', layout=W.Layout(margin='0 4px 0 0'))
        row = W.HBox([ask, self.yes, self.no], layout=W.Layout(align_items='center', flex_flow='row wrap'))
        self.widget = W.VBox([row, self.pick, self.status])
        self.widget.add_class('app-feedback')

    def said(self, truth: str) -> str:
        if truth == self.prediction: return 'right'
        shows = label_set(truth)
        return 'wrong: it shows ' + (', '.join(class_label(self.card, c) for c in shows) if shows else 'none of its labels')

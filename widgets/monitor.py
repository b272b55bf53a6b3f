"""The monitor app: pick a model and a time window; see live accuracy of the labelled answers, drift per
column, traffic and the latest predictions."""
from __future__ import annotations

import ipywidgets as W

from predictors.monitoring.pages import drift_html, live_html

from .common import APP_CSS, esc, message, model_service

__all__ = ['MonitorApp', 'monitor_app', 'WINDOWS']

WINDOWS = [('last hour', '1h'), ('last 24 hours', '24h'), ('last 7 days', '7d'), ('last 30 days', '30d'),
           ('all time', '')]
TRAFFIC_CHOICES = [('answers one at a time', 'single'), ('rows of scored files', 'batch'), ('all', 'all')]


class MonitorApp:
    """Live accuracy of the answers people labelled (against the card's), and drift of logged predictions
    against each model's training data, from the card's reference statistics."""

    def __init__(self, models=None, window: str = '7d'):
        self.models = model_service(models)
        names = [m['name'] for m in self.models.models()]
        self.picker = W.Dropdown(options=names, value=names[0] if names else None, description='Model',
                                 style={'description_width': '60px'}, layout=W.Layout(width='320px'))
        self.window = W.Dropdown(options=WINDOWS, value=window, description='Window',
                                 style={'description_width': '60px'}, layout=W.Layout(width='260px'))
        self.traffic = W.Dropdown(options=TRAFFIC_CHOICES, value='single', description='Traffic',
                                  style={'description_width': '60px'}, layout=W.Layout(width='300px'))
        self.refresh_button = W.Button(description='Refresh', icon='refresh')
        self.refresh_button.add_class('app-refresh')
        self.asof = W.HTML(); self.asof.add_class('app-asof-line')
        self.performance = W.HTML(); self.performance.add_class('app-monitor-performance')
        self.out = W.HTML(); self.out.add_class('app-monitor')
        for w in (self.asof, self.performance, self.out): w.add_class('app-fit')     # a phone: as wide as the screen
        for w in (self.picker, self.window, self.traffic): w.observe(lambda ch: self.refresh(), 'value')
        self.refresh_button.on_click(lambda _: self.refresh())
        controls = W.HBox([self.picker, self.window, self.traffic, self.refresh_button], layout=W.Layout(flex_flow='row wrap'))
        controls.add_class('app-controls')
        self.widget = W.VBox([W.HTML(APP_CSS), controls, self.asof, self.performance, self.out])
        self.refresh()

    def refresh(self):
        """Ask the model server for the figures (live performance, drift per column, traffic, the latest predictions)
        and show them; the line above says as of when."""
        import datetime as dt
        now = dt.datetime.now(dt.timezone.utc).strftime('%H:%M:%S UTC')
        if not self.picker.value:
            self.out.value = message('There are no models in the store.', 'warn'); return
        self.refresh_button.disabled = True
        self.asof.value = '<span class="app-asof" role="status">Working out the figures…</span>'
        self.show_performance()
        self.show_drift()
        self.asof.value = (f'<span class="app-asof app-asof-done" role="status">Figures as of {now}. '
                           f'<b>Refresh</b> for newer ones.</span>')
        self.refresh_button.disabled = False

    def show_drift(self):
        "Drift of the logged predictions in the window against the training data, the traffic, the latest predictions."
        name, window, traffic = self.picker.value, self.window.value, self.traffic.value
        try:
            got = self.models.drift(name, window, traffic)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.out.value = message(f'The report cannot be made: {esc(e)}', 'err'); return
        if got['problem']:
            self.out.value = message(esc(got['problem']), 'err'); return
        if not got['rows']:
            other = got['left_out']
            kind = {v: k for k, v in TRAFFIC_CHOICES}[traffic]
            self.out.value = message(f'No predictions of {esc(name)} ({kind}) logged in this window yet '
                                     f'(log: {esc(got["log"])})'
                                     + (f'; {other} of another kind: change Traffic to see them.' if other else '.'), 'warn')
            return
        self.out.value = drift_html(got)

    def show_performance(self):
        "The active version's live performance on its labelled answers in the window, against the card; the shadow's."
        try:
            self.performance.value = live_html(self.models.live_accuracy(self.picker.value, self.window.value))
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.performance.value = message(f'Live accuracy cannot be shown: {esc(e)}', 'err')


def monitor_app(models=None) -> W.Widget:
    "The ready monitor for every model of `models` (default: `predictors.connect()`), from the log it writes to."
    return MonitorApp(models).widget

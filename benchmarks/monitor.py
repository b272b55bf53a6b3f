"""How long the monitor takes to show its figures, against drawing the whole report at once.

A throwaway prediction log of N answers of the adult model (logged as the apps log them); then, as
the monitor does on open and on Refresh: the drift report read from the log, the figures (live
accuracy, the drift table, the latest predictions: what the page shows first) and the charts
(histograms and predictions per hour, drawn after in a thread). Target (#13): the figures within 2 s.

    .venv/bin/python benchmarks/monitor.py [--rows 2000 20000]
"""
import argparse
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')


def best(fn, repeat=3) -> float:
    "Best of `repeat` runs of `fn()`, in seconds."
    out = float('inf')
    for _ in range(repeat):
        t = time.perf_counter(); fn(); out = min(out, time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[2000, 20000])
    args = ap.parse_args()
    import pandas as pd
    from predictors import ModelStore
    from predictors.monitoring.drift import report_from_log
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.performance import performance_report
    from predictors.core.helpers import parse_since
    from predictors.monitoring.report import report_html
    from predictors.service.local import LocalModels
    store = ModelStore(ROOT / 'models')
    card = store.card('adult_income')
    people = pd.read_csv(ROOT / 'data' / 'adult_sample' / 'adult.csv').drop(columns=['salary'])
    print(f'{"answers":>8} {"figures (s)":>12} {"charts (s)":>11} {"all at once (s)":>16} {"figures / all":>14}')
    for n in args.rows:
        with tempfile.TemporaryDirectory() as d:
            log = PredictionLog(Path(d) / 'log.db')
            LocalModels(store, log, source='app').predict('adult_income', people.sample(n, replace=True, random_state=0)
                                                          .to_dict('records'))
            read = lambda: report_from_log(log, card, since=parse_since('30d'), traffic='single')
            report, df = read()

            def figures():
                performance_report(log.labelled('adult_income'), card)
                r, f = read()
                report_html(r, f, plots=False)
            report_html(report, df)                      # matplotlib's first figure is not counted
            first = best(figures)
            charts = best(lambda: report_html(report, df))
            print(f'{n:>8} {first:>12.2f} {charts:>11.2f} {first + charts:>16.2f} {first / (first + charts):>14.2f}')


if __name__ == '__main__':
    main()

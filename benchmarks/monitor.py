"""How long the monitor takes to show a model's figures: the model server's data, then the page drawn in the monitor's
kernel, against drawing the same charts with matplotlib (as the monitor did before #39: PNGs made on the server).

A throwaway prediction log of N answers of the adult model (logged as the apps log them); then, as the monitor does on
open and on Refresh: `/live` and `/drift` as data (`LocalModels.live_accuracy`, `.drift`: what the model server
answers), and the page made from it (`live_html`, `drift_html`: the tables and inline SVG charts). Target (#13): the
figures within 2 s.

    .venv/bin/python benchmarks/monitor.py [--rows 2000 20000]
"""
import argparse
import json
import tempfile
import warnings
from pathlib import Path

from harness.timing import best

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')



def matplotlib_charts(data: dict) -> list[bytes]:
    "The same charts as PNGs drawn by matplotlib (the alternative): one per column, and the traffic."
    import io
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out = []
    cols = list(data['report']['columns'].values())
    for c in cols:
        fig, ax = plt.subplots(figsize=(4.2, 2.4))
        n = len(c['ref_props'])
        ax.bar([i - 0.2 for i in range(n)], c['ref_props'], 0.4); ax.bar([i + 0.2 for i in range(n)], c['cur_props'], 0.4)
        buf = io.BytesIO(); fig.savefig(buf, format='png', dpi=80, bbox_inches='tight'); plt.close(fig)
        out.append(buf.getvalue())
    fig, ax = plt.subplots(figsize=(8, 2.2))
    ax.bar(range(len(data['traffic']['counts'])), [n for _, n in data['traffic']['counts']])
    buf = io.BytesIO(); fig.savefig(buf, format='png', dpi=80, bbox_inches='tight'); plt.close(fig)
    return out + [buf.getvalue()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[2000, 20000])
    args = ap.parse_args()
    import pandas as pd
    from predictors import ModelStore
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.pages import drift_html, live_html
    from predictors.service.local import LocalModels
    store = ModelStore(ROOT / 'models')
    people = pd.read_csv(ROOT / 'data' / 'adult_sample' / 'adult.csv').drop(columns=['salary'])
    print(f'{"answers":>8} {"data (s)":>9} {"JSON (KB)":>10} {"page (s)":>9} {"figures (s)":>12} '
          f'{"matplotlib charts (s)":>22} {"page / matplotlib":>18}')
    for n in args.rows:
        with tempfile.TemporaryDirectory() as d:
            models = LocalModels(store, PredictionLog(Path(d) / 'log.db'), source='app')
            models.predict('adult_income', people.sample(n, replace=True, random_state=0).to_dict('records'))
            both = lambda: (models.live_accuracy('adult_income', '30d'), models.drift('adult_income', '30d'))
            live, drift = both()
            data = best(both)
            size = len(json.dumps(live)) + len(json.dumps(drift))
            page = best(lambda: (live_html(live), drift_html(drift)))
            matplotlib_charts(drift)                      # matplotlib's first figure is not counted
            mpl = best(lambda: matplotlib_charts(drift))
            print(f'{n:>8} {data:>9.2f} {size / 1024:>10.0f} {page:>9.3f} {data + page:>12.2f} {mpl:>22.2f} '
                  f'{page / mpl:>18.3f}')


if __name__ == '__main__':
    main()

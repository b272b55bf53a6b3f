"""Tabular prediction speed on one thread: learn.predict, test_dl + get_preds, our predictor, bare model.

    .venv/bin/python benchmarks/tabular_predict.py [--rows 20000] [--model adult_income|bike_rentals]

A classifier (`adult_income`, the default) or a regression (`bike_rentals`: numbers with their ranges).

Prints median single-row latency and batch throughput for each, with ratios measured in this run.
"""
import argparse
import statistics
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')
DATA = {'adult_income': 'adult_sample/adult.csv', 'bike_rentals': 'bike_sharing/hour.csv'}


def median_ms(fn, items, repeat=1):
    ts = []
    for it in items:
        t = time.perf_counter()
        for _ in range(repeat): fn(it)
        ts.append((time.perf_counter() - t) / repeat * 1000)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--rows', type=int, default=20000)
    ap.add_argument('--model', default='adult_income', choices=sorted(DATA)); args = ap.parse_args()
    import pandas as pd
    import torch
    torch.set_num_threads(1)
    from predictors import ModelStore, load_predictor
    store = ModelStore(ROOT / 'models')
    pred = load_predictor(args.model, store=store)
    learn = pred.learn
    df = pd.read_csv(ROOT / 'data' / DATA[args.model])
    batch = pd.concat([df] * (args.rows // len(df) + 1)).head(args.rows).reset_index(drop=True)
    inputs = [c['name'] for c in pred.inputs]
    rows = [df[inputs].iloc[i] for i in range(200)]
    dicts = [r.to_dict() for r in rows]
    model = learn.model.eval()
    x_cat, x_cont, _, _ = pred.prep.encode({c: batch[c].to_numpy() for c in inputs}, len(batch))
    xc, xn = torch.from_numpy(x_cat), torch.from_numpy(x_cont)

    def bare(i):
        with torch.inference_mode(): model(xc[i:i + 1], xn[i:i + 1])

    with learn.no_bar():
        single = {
            'learn.predict': median_ms(lambda r: learn.predict(r), rows[:50]),
            'our predictor': median_ms(lambda d: pred.predict_one(d), dicts),
            'bare model forward': median_ms(bare, range(200)),
        }

        def rate(fn, n):
            fn()  # warm up
            t = time.perf_counter(); fn(); return n / (time.perf_counter() - t)

        def get_preds(bs=None):
            dl = learn.dls.test_dl(batch, **(dict(bs=bs) if bs else {}))
            learn.get_preds(dl=dl)

        def bare_batch():
            with torch.inference_mode():
                for s in range(0, len(xc), 8192): model(xc[s:s + 8192], xn[s:s + 8192])

        thr = {
            'test_dl + get_preds': rate(get_preds, len(batch)),
            'same, bs=8192': rate(lambda: get_preds(8192), len(batch)),
            'our predictor': rate(lambda: pred.predict_frame(batch), len(batch)),
            'bare model forward': rate(bare_batch, len(batch)),
        }
    print(f'tabular {pred.task} model {args.model}, torch threads: {torch.get_num_threads()}, batch rows: {len(batch)}')
    print('\nsingle row, median latency')
    for k, v in single.items(): print(f'  {k:<22} {v:8.3f} ms')
    print(f'  our predictor is {single["learn.predict"] / single["our predictor"]:.1f}x faster than learn.predict, '
          f'{single["our predictor"] / single["bare model forward"]:.1f}x the bare forward pass')
    print('\nbatch throughput')
    for k, v in thr.items(): print(f'  {k:<22} {v:12,.0f} rows/s')
    print(f'  our predictor is {thr["our predictor"] / thr["test_dl + get_preds"]:.1f}x the throughput of get_preds '
          f'(learner\'s batch size {learn.dls.bs}), {thr["our predictor"] / thr["same, bs=8192"]:.1f}x with bs=8192; '
          f'{thr["bare model forward"] / thr["our predictor"]:.2f}x slower than the bare forward pass')


if __name__ == '__main__':
    main()

"""Batch scoring at scale: rows/s and peak memory per process, one process against Dask with 1 and 2 workers.

The adult rows of `data/` are resampled to 1M and 10M rows, written once as CSV and as Parquet
(in a temporary folder), then scored end to end by the CLI, each run a fresh process tree:
  - single process: `predict NAME big.csv --out scored.csv --no-log` (today's path, CSV only)
  - `predict NAME big.parquet --engine dask --workers N --out scored.parquet` for N = 1, 2
  - `predict NAME big.csv --engine dask --workers 2 --out scored.csv`
Peak memory is sampled every 0.2 s over every process of the run (the client, the Dask scheduler,
nannies and workers). Targets (#17): ≥ 1M rows a minute end to end from Parquet on this 2-core
machine, and 2 workers ≥ 1.6x one.

    .venv/bin/python benchmarks/batch_scale.py [--rows 1000000 10000000]
"""
import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def synthesise(n: int, folder: Path, chunk: int = 1_000_000) -> tuple[Path, Path]:
    "n adult rows resampled from data/ (seeded), as one CSV and one Parquet file (row groups of 128Ki rows)."
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    src = pd.read_csv(ROOT / 'data' / 'adult_sample' / 'adult.csv').drop(columns='salary')
    rng = np.random.default_rng(0)
    csv, parquet = folder / f'adult_{n}.csv', folder / f'adult_{n}.parquet'
    writer = None
    with open(csv, 'w') as f:
        for s in range(0, n, chunk):
            part = src.iloc[rng.integers(0, len(src), min(chunk, n - s))].reset_index(drop=True)
            part.to_csv(f, index=False, header=s == 0)
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table, row_group_size=128 * 1024)
    writer.close()
    return csv, parquet


def run(cmd: list[str]) -> tuple[float, float, int]:
    "Wall seconds, the peak RSS (MB) of any one process of the run, and how many processes it had."
    import psutil
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks: dict = {}

    def sample():
        while proc.poll() is None:
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    try: peaks[p.pid] = max(peaks.get(p.pid, 0), p.memory_info().rss)
                    except psutil.Error: pass
            except psutil.Error: pass
            time.sleep(0.2)
    t = threading.Thread(target=sample, daemon=True); t.start()
    rc = proc.wait(); t.join()
    if rc not in (0, 1): raise SystemExit(f'{" ".join(cmd)} failed with exit status {rc}')
    return time.perf_counter() - t0, max(peaks.values()) / 2**20, len(peaks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, nargs='+', default=[1_000_000, 10_000_000])
    args = ap.parse_args()
    py = [sys.executable, '-m', 'predictors']
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for n in args.rows:
            t = time.perf_counter()
            csv, parquet = synthesise(n, d)
            print(f'\n{n:,} adult rows: CSV {csv.stat().st_size / 2**20:,.0f} MB, Parquet '
                  f'{parquet.stat().st_size / 2**20:,.0f} MB (made in {time.perf_counter() - t:.0f} s)')
            print(f'  {"path":<44} {"seconds":>8} {"rows/s":>10} {"rows/min":>12} {"peak MB/process":>16}')
            results = {}
            for label, cmd in [
                ('single process, CSV (today)', py + ['predict', 'adult_income', str(csv), '--no-log', '--out', str(d / 'o.csv')]),
                ('dask, 1 worker, Parquet', py + ['predict', 'adult_income', str(parquet), '--engine', 'dask', '--workers', '1',
                                                 '--out', str(d / 'o1.parquet')]),
                ('dask, 2 workers, Parquet', py + ['predict', 'adult_income', str(parquet), '--engine', 'dask', '--workers', '2',
                                                  '--out', str(d / 'o2.parquet')]),
                ('dask, 2 workers, CSV', py + ['predict', 'adult_income', str(csv), '--engine', 'dask', '--workers', '2',
                                              '--out', str(d / 'o2.csv')])]:
                secs, peak, procs = run(cmd)
                results[label] = secs
                print(f'  {label:<44} {secs:8.1f} {n / secs:10,.0f} {n / secs * 60:12,.0f} {peak:10,.0f} ({procs} proc.)')
            one, two = results['dask, 1 worker, Parquet'], results['dask, 2 workers, Parquet']
            print(f'  2 workers vs 1 (Parquet): {one / two:.2f}x; dask 2 workers from Parquet vs the single process '
                  f'from CSV: {results["single process, CSV (today)"] / two:.2f}x')


if __name__ == '__main__':
    main()

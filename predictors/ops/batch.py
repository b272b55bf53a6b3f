"""Batch scoring on Dask: tables (CSV, Parquet) and folders of images, on this machine's cores or on a cluster.

`score_on_dask` runs `predict --engine dask`. The client reads the model file from the store, checks
it against its card and sends its bytes to every worker once (`ModelPlugin`, a Dask worker plugin:
workers that join later get it too); each worker checks the sha256 before unpickling and keeps one
predictor for all its tasks, so workers need the project installed but not the store. Each input
file is read in partitions (`blocksize` bytes of CSV, Parquet row groups); a task scores one
partition with the same predictor as `predict` and writes it to its own part file under a name
fixed by its position (a temporary name, then an atomic rename), so a task that Dask retries after
a worker dies rewrites the same part: the output is complete and never has a row twice. The
client then assembles the parts in input order (one CSV) or keeps them (a Parquet dataset, one
file per partition) and reports every failed row by its input file and row number.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from distributed import WorkerPlugin

from predictors.kinds import kind_of
from predictors.service.loading import predictor_for_learner
from predictors.core.store import ModelError, load_learner_file

__all__ = ['score_on_dask', 'ModelPlugin', 'BatchReport']

_PREDICTORS: dict = {}        # on a worker: sha256 -> the predictor ModelPlugin loaded
_LOADS: dict = {}             # on a worker: sha256 -> how many times it was unpickled (once)


@dataclass
class BatchReport:
    "What a Dask run did: rows (or images), the failed ones as (file, row, reason), the parts written."
    rows: int = 0
    failed: list = field(default_factory=list)
    parts: int = 0
    out: str = ''
    dashboard: str | None = None


class ModelPlugin(WorkerPlugin):
    """A Dask worker plugin carrying a model's bytes and card: on each worker it checks the sha256 of
    the bytes against the card before unpickling, loads the learner once and keeps its predictor."""

    def __init__(self, card: dict, data: bytes, threads: int = 1, limits=None):
        self.card, self.data, self.threads, self.limits = card, data, threads, limits
        self.name = f'fastai-apps-model-{card["sha256"][:16]}'

    def setup(self, worker=None):
        import torch
        if self.card['sha256'] in _PREDICTORS: return          # registered again (another run): already loaded
        got = hashlib.sha256(self.data).hexdigest()
        if got != self.card['sha256']:
            raise ModelError(f'the model bytes sent to this worker do not match the card (sha256 {got[:12]}…): '
                             f'refused without unpickling.')
        torch.set_num_threads(self.threads)
        with tempfile.NamedTemporaryFile(suffix='.pkl') as f:
            f.write(self.data); f.flush()
            learn = load_learner_file(f.name)
        _PREDICTORS[self.card['sha256']] = predictor_for_learner(learn, self.card, self.limits)
        _LOADS[self.card['sha256']] = _LOADS.get(self.card['sha256'], 0) + 1


def _predictor(sha: str):
    pred = _PREDICTORS.get(sha)
    if pred is None: raise RuntimeError('the model was not loaded on this worker (its plugin did not run)')
    return pred


def _publish(tmp: str, final: str) -> None:
    os.replace(tmp, final)


def _score_table_part(df, sha: str, part: str, fmt: str) -> dict:
    "Score one partition, write it to `part` (atomically); its row count and its failed rows (local index, reason)."
    pred = _predictor(sha)
    df = df.reset_index(drop=True)
    res = pred.predict_frame(df)
    out = res.scored(df)
    tmp = f'{part}.tmp-{os.getpid()}'
    if fmt == 'parquet': out.to_parquet(tmp, index=False)
    else: out.to_csv(tmp, index=False, header=False)
    _publish(tmp, part)
    return dict(rows=len(df), failed=sorted(res.errors.items()))


def _score_image_part(paths: list[str], sha: str, part: str, fmt: str, top: int) -> dict:
    "Classify one batch of image files (each bad file fails alone) and write their rows to `part`."
    import pandas as pd
    pred = _predictor(sha)
    files = []
    for p in paths:
        try:
            with open(p, 'rb') as f: files.append((p, f.read(pred.limits.max_bytes + 1)))
        except OSError as e:
            files.append((p, None if not isinstance(e, IsADirectoryError) else b''))
    results = pred.predict_files(files)
    rows = []
    for p, r in zip(paths, results):
        row = dict(file=p, prediction=r.prediction, probability=r.probability,
                   unsure=bool(r.unsure) if r.ok else None)
        for k, (c, v) in enumerate(r.top(top) if r.ok else [], start=1): row[f'class_{k}'], row[f'probability_{k}'] = c, v
        row['error'] = r.error or ''
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=_image_header(top))
    tmp = f'{part}.tmp-{os.getpid()}'
    if fmt == 'parquet': out.to_parquet(tmp, index=False)
    else: out.to_csv(tmp, index=False, header=False)
    _publish(tmp, part)
    return dict(rows=len(paths), failed=[(i, r.error) for i, r in enumerate(results) if not r.ok])


def _table_partitions(files: list[str], blocksize):
    """(file, delayed partition) for every partition of every input file, in order: CSV in `blocksize`
    byte ranges, read as text as the single-process path reads it (pandas objects, not Arrow strings);
    Parquet one partition per row group."""
    import dask
    import dask.dataframe as dd
    out = []
    with dask.config.set({'dataframe.convert-string': False}):
        for f in files:
            if f.lower().endswith(('.parquet', '.pq')): ddf = dd.read_parquet(f, split_row_groups=True)
            else: ddf = dd.read_csv(f, blocksize=blocksize, dtype=object, encoding='utf-8-sig')
            out += [(f, d) for d in ddf.to_delayed()]
    return out


def _tasks(form: str, files: list, sha: str, parts_dir: Path, fmt: str, blocksize, images_per_task: int, top: int):
    """The delayed tasks (one per partition, each writing its own part), the file of each, and the partitions: of rows,
    each file's byte ranges or row groups; of files, batches of `images_per_task`."""
    import dask
    if form == 'rows':
        pieces = _table_partitions(files, blocksize)
        width = len(str(len(pieces)))
        tasks = [dask.delayed(_score_table_part)(d, sha, str(parts_dir / f'part.{i:0{width}d}.{fmt}'), fmt)
                 for i, (_, d) in enumerate(pieces)]
        return tasks, [f for f, _ in pieces], pieces
    batches = [files[i:i + images_per_task] for i in range(0, len(files), images_per_task)]
    width = len(str(len(batches)))
    tasks = [dask.delayed(_score_image_part)(b, sha, str(parts_dir / f'part.{i:0{width}d}.{fmt}'), fmt, top)
             for i, b in enumerate(batches)]
    return tasks, [None] * len(batches), batches


def _count(report: BatchReport, form: str, where: list, pieces: list, done: list) -> None:
    "Rows and failed rows (by input file and row, or image file) of the finished tasks into `report`."
    offsets: dict = {}
    for i, (f, meta) in enumerate(zip(where, done)):
        for local, reason in meta['failed']:
            if form == 'rows': report.failed.append((f, offsets.get(f, 0) + local + 1, reason))
            else: report.failed.append((pieces[i][local], None, reason))
        if f is not None: offsets[f] = offsets.get(f, 0) + meta['rows']
        report.rows += meta['rows']


def score_on_dask(store, name: str, inputs: list, out, version: str | None = None, scheduler: str | None = None,
                  workers: int | None = None, blocksize='16MB', images_per_task: int = 256, top: int = 3,
                  progress: bool = True, client=None, on_start=None, limits=None) -> BatchReport:
    """Score `inputs` (CSV/Parquet files or globs; images: folders, globs or files) with model `name` on
    Dask and write `out`: a CSV (one file, rows in input order) or, when it ends in `.parquet` or `/`, a
    Parquet dataset (one file per partition, in order). `scheduler`: a running scheduler's address;
    else a `LocalCluster` of `workers` processes (default: one per core), closed at the end.
    `on_start(dashboard address)` is called once the cluster is up; a progress bar goes to stderr. `limits`: the
    image limits files are read and decoded with (the process's settings)."""
    from distributed import Client, LocalCluster
    card = store.card(name, version)
    reads = kind_of(card).input
    files = reads.expand(inputs)
    header = _table_header(card, files) if reads.form == 'rows' else _image_header(top)
    out = Path(out)
    fmt = 'parquet' if out.suffix.lower() in ('.parquet', '.pq') or str(out).endswith(os.sep) else 'csv'
    if card.get('code'):
        raise ModelError(f'{name} {card["version"]} needs its code files (import --code), which are not sent to Dask '
                         'workers: score it with `predict --out` on this machine.')
    data = store.verify(name, card['version']).read_bytes()
    own = None
    if client is None:
        if scheduler: client = Client(scheduler)
        else:
            own = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=':0', host='127.0.0.1')
            client = Client(own)
    report = BatchReport(out=str(out), dashboard=getattr(client, 'dashboard_link', None))
    if on_start: on_start(report.dashboard)
    parts_dir = Path(tempfile.mkdtemp(prefix='.parts-', dir=out.parent if fmt == 'csv' else None)) if fmt == 'csv' else out
    try:
        client.register_plugin(ModelPlugin(card, data, limits=limits))
        if fmt == 'parquet': out.mkdir(parents=True, exist_ok=True)
        tasks, where, pieces = _tasks(reads.form, files, card['sha256'], parts_dir, fmt, blocksize, images_per_task, top)
        futures = client.compute(tasks)
        if progress:
            import contextlib
            import sys
            from distributed import progress as show
            with contextlib.redirect_stdout(sys.stderr): show(futures)
        done = client.gather(futures)
        _count(report, reads.form, where, pieces, done)
        report.parts = len(tasks)
        if fmt == 'csv': _assemble_csv(parts_dir, out, header)
    except ModelError: raise
    except Exception as e:
        raise ModelError(f'the Dask run failed: {type(e).__name__}: {e}') from None
    finally:
        if fmt == 'csv':
            import shutil
            shutil.rmtree(parts_dir, ignore_errors=True)
        if own is not None:
            client.close(); own.close()
    return report


def _columns(f: str) -> list[str]:
    "A table file's columns, read from its header (CSV) or schema (Parquet)."
    import pandas as pd
    if f.lower().endswith(('.parquet', '.pq')):
        import pyarrow.parquet as pq
        return list(pq.read_schema(f).names)
    try:
        return list(pd.read_csv(f, nrows=0, encoding='utf-8-sig').columns)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ModelError(f'{f} is not a readable CSV: {e}') from None


def _table_header(card: dict, files: list[str]) -> list[str]:
    """The output columns: the input's own, then the kind's answer columns (prediction, probability_<class> or
    low/high, problem). Every file must
    have the columns of the first, in the same order (they are one table), and those the model needs."""
    kinds = {f.lower().endswith(('.parquet', '.pq')) for f in files}
    if len(kinds) > 1: raise ModelError('the input mixes CSV and Parquet files: score each kind on its own.')
    cols = _columns(files[0])
    for f in files[1:]:
        if _columns(f) != cols:
            raise ModelError(f'{f} has other columns than {files[0]}: the files of one input are one table.')
    target = (card.get('schema') or {}).get('target')
    missing = [c['name'] for c in card['schema']['inputs'] if c['name'] not in cols and c['name'] != target]
    if missing: raise ModelError(f'{files[0]} lacks the column{"s" if len(missing) > 1 else ""} {", ".join(missing)} '
                                 f'that the model needs.')
    return cols + kind_of(card).answer_columns(card)


def _image_header(top: int) -> list[str]:
    return ['file', 'prediction', 'probability', 'unsure'] + [f'{x}_{k}' for k in range(1, top + 1) for x in ('class', 'probability')] + ['error']


def _assemble_csv(parts_dir: Path, out: Path, header: list[str]) -> None:
    "One CSV from the part files, in order, under one header (written to a temporary name, then renamed)."
    import csv
    import io
    import shutil
    tmp = out.with_name(f'.{out.name}.tmp')
    line = io.StringIO()
    csv.writer(line, lineterminator='\n').writerow(header)
    with open(tmp, 'wb') as b:
        b.write(line.getvalue().encode())
        for p in sorted(parts_dir.glob('part.*.csv')):
            with open(p, 'rb') as src: shutil.copyfileobj(src, b, 1 << 20)
    os.replace(tmp, out)

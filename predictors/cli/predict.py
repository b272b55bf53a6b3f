"""Answers: predict (CSV rows, images, on Dask) and explain."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from predictors.cli.common import add_log, models_of, store_of
from predictors.core.helpers import some_names
from predictors.core.store import ModelError
from predictors.kinds import kind_of

__all__ = ['VERBS']


def cmd_predict(args):
    if args.engine == 'dask': return _predict_on_dask(args)
    if args.scheduler or args.workers: raise ModelError('--scheduler and --workers go with --engine dask.')
    models = models_of(args, logged=not args.no_log)
    card = models.card(args.name, args.version)
    return _PREDICT[kind_of(card).input.form](args, models, card)


def _predict_files(args, models, card) -> int:
    "A model of files: one JSON line per file (its answer, or why it has none)."
    paths, failed = _paths(args.files, kind_of(card).input)
    for r in models.predict(args.name, [(p, _read(p, models.limits())) for p in paths], card['version']):
        failed += not r.ok
        print(json.dumps(r.to_dict(args.top)))
    return 1 if failed else 0


def _predict_rows(args, models, card) -> int:
    "A model of rows: one JSON line per row of each CSV (a bad line fails alone, in its place), or --out a scored CSV."
    from predictors.core.csvio import iter_csv_checked
    version, failed = card['version'], 0
    if args.out and len(args.files) != 1: raise ModelError('--out writes the scores of one CSV: give one file.')
    for f in args.files:
        try:
            if args.out:
                scored = models.scored_csv(args.name, f, version)
                _unused(f, scored.unused)
                with open(args.out, 'wb') as out:        # in chunks: a file of any size in bounded memory
                    for block in scored: out.write(block)
                failed += scored.failed
                print(json.dumps(dict(file=str(f), rows=scored.rows, failed=scored.failed, scored=str(args.out))))
                continue
            row, bad, told = 0, [], 0    # good rows so far; malformed lines (line, why, good rows before it); shown

            def tell_bad_lines(upto=None):   # each in its place among the rows (numbered as rows, and by line)
                nonlocal told
                while told < len(bad) and (upto is None or bad[told][2] <= upto):
                    line, why, before = bad[told]
                    print(json.dumps(dict(file=str(f), row=before + told + 1, line=line, error=why)))
                    told += 1
            for df in iter_csv_checked(f, bad_lines=bad):
                if row == 0: _unused(f, models.predictor(args.name, version).unused_columns(df.columns))
                for i, p in enumerate(models.predict_frame(args.name, df, version)):
                    tell_bad_lines(row + i)
                    failed += not p.ok
                    print(json.dumps(dict(file=str(f), row=row + i + told + 1, **p.to_dict())))
                row += len(df)
            tell_bad_lines()
            failed += told
        except ModelError as e:
            failed += 1
            print(json.dumps(dict(file=str(f), error=str(e))))
    return 1 if failed else 0


def cmd_explain(args):
    """Rows: one JSON line per row (or with --out a CSV of contributions, one column per field); files: the heatmap
    overlays written as PNGs into --out (a folder) and one JSON line per file."""
    models = models_of(args, logged=False)
    card = models.card(args.name, args.version)
    return _EXPLAIN[kind_of(card).input.form](args, models, card)


def _explain_files(args, models, card) -> int:
    "Where the model looked in each file: PNGs written into --out, one JSON line per file."
    if not args.out: raise ModelError('--out FOLDER is needed: the heatmaps are written there as PNGs.')
    args.out.mkdir(parents=True, exist_ok=True)
    paths, failed = _paths(args.files, kind_of(card).input)
    for i, r in enumerate(models.explain(args.name, [(p, _read(p, models.limits())) for p in paths], card['version'])):
        failed += not r.ok
        d = r.to_dict(3); d.pop('heatmap_png', None); d.pop('heatmaps_png', None)
        if r.ok:
            png = args.out / f'{i + 1:04d}_{Path(r.name).stem}_heatmap.png'
            png.write_bytes(r.heatmap); d['heatmap'] = str(png)
        for c, b in (r.heatmaps or {}).items():     # a multi-label answer: one per label it names
            png = args.out / f'{i + 1:04d}_{Path(r.name).stem}_heatmap_{_file_part(c)}.png'
            png.write_bytes(b); d.setdefault('heatmaps', {})[c] = str(png)
        print(json.dumps(d))
    return 1 if failed else 0


def _explain_rows(args, models, card) -> int:
    "Each row's contributions: a JSON line per row, or with --out a CSV of them."
    from predictors.core.csvio import iter_csv_checked
    version, failed = card['version'], 0
    if args.out and len(args.files) != 1: raise ModelError('--out writes the contributions of one CSV: give one file.')
    out = open(args.out, 'w', newline='') if args.out else None
    try:
        for f in args.files:
            row = 0
            for df in iter_csv_checked(f, chunksize=1000):
                for i, e in enumerate(models.explain_frame(args.name, df, version)):
                    failed += not e.ok
                    if out is None: print(json.dumps(dict(file=str(f), row=row + i + 1, **e.to_dict())))
                    else: _contribution_row(out, card, row + i + 1, e)
                row += len(df)
    finally:
        if out: out.close()
    if out: print(json.dumps(dict(file=str(args.files[0]), rows=row, failed=failed, explained=str(args.out))))
    return 1 if failed else 0


def _file_part(text: str) -> str:
    "A label as part of a file name: 'Apple Red 1' -> 'apple_red_1'."
    import re
    return re.sub(r'[^a-z0-9]+', '_', str(text).lower()).strip('_') or 'label'


def _contribution_row(out, card, row: int, e) -> None:
    "One CSV row of contributions: row, target, probability, base, one `contribution_<field>` per field, problem."
    import csv
    fields = kind_of(card).explained_fields(card)
    w = csv.writer(out)
    if row == 1:
        w.writerow(['row', 'target', 'probability', 'base', *[f'contribution_{f}' for f in fields], 'problem'])
    by = {c['field']: c['contribution'] for c in e.contributions}
    num = lambda v: '' if v is None else f'{v:.6g}'
    w.writerow([row, e.target or '', num(e.probability), num(e.base), *[num(by.get(f)) for f in fields],
                ('error: ' + e.error) if e.error else '; '.join(e.warnings)])


def _predict_on_dask(args):
    """`predict --engine dask`: score files of any number and size on Dask (`predictors.batch`); one JSON
    line per failed row or image (its file and row) and a summary line. Not logged: batch runs on a
    cluster are not the apps' traffic."""
    if not args.out: raise ModelError('--engine dask writes its output to --out (a .csv file, or a .parquet dataset folder).')
    from predictors.core.imaging import ImageLimits
    from predictors.ops.batch import score_on_dask
    store = store_of(args)
    print(f'scoring on Dask ({"scheduler " + args.scheduler if args.scheduler else "a local cluster"})…', file=sys.stderr)
    r = score_on_dask(store, args.name, args.files, args.out, args.version, scheduler=args.scheduler,
                      workers=args.workers, blocksize=args.blocksize, top=args.top,
                      on_start=lambda link: print(f'Dask dashboard: {link}', file=sys.stderr, flush=True),
                      limits=ImageLimits.of(args.settings))
    for f, row, why in r.failed:
        print(json.dumps(dict(file=f, **({'row': row} if row is not None else {}), error=why)))
    print(json.dumps(dict(rows=r.rows, failed=len(r.failed), parts=r.parts, scored=r.out)))
    return 1 if r.failed else 0


def _paths(inputs, reads) -> tuple[list[str], int]:
    """The files `inputs` name for a model that `reads` them (a folder: every file in it, sorted), and how many inputs
    named none (each printed as an error line)."""
    paths, failed = [], 0
    for x in inputs:
        try:
            paths += reads.expand([x])
        except ModelError as e:
            failed += 1
            print(json.dumps(dict(name=str(x), error=str(e))))
    return paths, failed


def _read(path, limits) -> bytes | None:
    "A file's bytes (at most one byte over the per-file limit of `limits`), or None if it cannot be read."
    try:
        with open(path, 'rb') as f: return f.read(limits.max_bytes + 1)
    except OSError:
        return None


def _unused(f, unused):
    if unused: print(f'{f}: columns not used by the model (kept as they are): {some_names(unused)}', file=sys.stderr)




_PREDICT = {'files': _predict_files, 'rows': _predict_rows}      # by the form of what the model reads
_EXPLAIN = {'files': _explain_files, 'rows': _explain_rows}


def _add_predict(sub):
    p = sub.add_parser('predict', help='predict CSV rows or image files; one JSON line per input')
    p.add_argument('name'); p.add_argument('files', nargs='+', type=Path, metavar='INPUT',
                                           help='CSV files, or image files and folders of them (--engine dask: also Parquet, globs)')
    p.add_argument('--version')
    p.add_argument('--engine', choices=['local', 'dask'], default='local',
                   help='local: this process (default); dask: a Dask cluster, for many or large inputs (--out needed)')
    p.add_argument('--scheduler', help='--engine dask: a running Dask scheduler, e.g. tcp://10.0.0.5:8786 '
                   '(default: a local cluster on this machine)')
    p.add_argument('--workers', type=int, help='--engine dask without --scheduler: worker processes (default: one per core)')
    p.add_argument('--blocksize', default='16MB', help='--engine dask: bytes of CSV per task (default 16MB, about '
                   '150,000 adult rows; Parquet files are split by row group)')
    p.add_argument('--top', type=int, default=3, help='image models: classes shown per image')
    p.add_argument('--out', type=Path, help='tabular models: write the scored CSV here (prediction, '
                   'probability_<class>, problem columns) instead of JSON lines; one input CSV. --engine dask: '
                   'a .csv file or a .parquet dataset folder, for tables and images')
    p.set_defaults(fn=cmd_predict)

    add_log(p)
    p.add_argument('--no-log', action='store_true', help='do not record these predictions')


def _add_explain(sub):
    p = sub.add_parser('explain', help='why: each field\'s contribution (CSV rows) or where the model looked (images)')
    p.add_argument('name'); p.add_argument('files', nargs='+', type=Path); p.add_argument('--version')
    p.add_argument('--out', type=Path, help='tabular: write a CSV of contributions here instead of JSON lines; '
                   'images (required): the folder the heatmap PNGs are written to')
    p.set_defaults(fn=cmd_explain)


VERBS = (_add_predict, _add_explain)     # each adds its verb to the sub-parsers

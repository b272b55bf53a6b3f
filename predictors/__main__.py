"""Command line: `python -m predictors VERB …` (`--help` on each verb).

Exit status: 0 success; 1 when some inputs of `predict` or `explain` could not be answered (each
has an `error` line), `feedback` refused a row, `performance` finds the accuracy significantly
below the card's, `compare` finds version B significantly worse, or `drift` judges the data
drifted; 2 with a one-line reason on bad input or a model that cannot be used.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from .store import ModelError, ModelStore

__all__ = ['main']


def _store(args) -> ModelStore: return ModelStore(args.models) if args.models else ModelStore()


def _csv_list(v): return [c.strip() for c in v.split(',') if c.strip()] if v else None


def cmd_list(args):
    rows = _store(args).list()
    if not rows: print('(no models)'); return 0
    print(f'{"name":<20} {"version":<8} {"task":<8} {"active":<6} {"accuracy":<9} created')
    for r in rows:
        acc = r['metrics'].get('accuracy')
        print(f'{r["name"]:<20} {r["version"]:<8} {r["task"] or "?":<8} {"*" if r["active"] else "":<6} '
              f'{"" if acc is None else f"{acc:.4f}":<9} {r["created"] or ""}')
    return 0


def cmd_card(args):
    print(json.dumps(_store(args).card(args.name, args.version), indent=1))
    return 0


def cmd_activate(args):
    st = _store(args)
    if args.version is None and not args.no_shadow: raise ModelError('give the VERSION to activate (or --no-shadow).')
    if args.shadow:
        st.set_shadow(args.name, args.version)
        print(f'{args.name}: {args.version} now answers in the shadow of {st.active_version(args.name)} '
              f'(logged, never shown); `activate {args.name} {args.version}` promotes it')
        return 0
    if args.no_shadow:
        st.set_shadow(args.name, None)
        print(f'{args.name}: no shadow version')
        return 0
    st.activate(args.name, args.version)
    print(f'{args.name}: {args.version} is now active')
    return 0


def cmd_compare(args):
    from .compare import compare_text, compare_versions
    from .tabular import read_csv_checked
    r = compare_versions(_store(args), args.name, args.a, args.b, read_csv_checked(args.csv), alpha=args.alpha)
    print(compare_text(r))
    return 1 if r['verdict'] == 'B is worse' else 0


def cmd_labels(args):
    try:
        spec = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f'{args.file} is not a readable JSON file: {e}') from None
    if not isinstance(spec, dict) or not set(spec) <= {'labels', 'help'}:
        raise ModelError(f'{args.file} must hold {{"labels": {{column: text}}, "help": {{column: text}}}}.')
    v = _store(args).set_labels(args.name, args.version, spec.get('labels') or {}, spec.get('help') or {})
    print(f'{args.name} {v}: {len(spec.get("labels") or {})} label(s), {len(spec.get("help") or {})} help text(s)')
    return 0


def cmd_train_tabular(args):
    from .train import train_tabular
    extra = None
    if args.add_feedback:
        from .monitor import PredictionLog
        from .train import feedback_rows
        extra = feedback_rows(PredictionLog(args.log), args.add_feedback, args.target)
        print(f'{len(extra)} labelled answer(s) of {args.add_feedback} added from {PredictionLog(args.log).where}',
              file=sys.stderr)
    v = train_tabular(args.csv, args.target, args.name, cat=_csv_list(args.cat), cont=_csv_list(args.cont),
                      store=_store(args), epochs=args.epochs, seed=args.seed, templates=args.describe,
                      max_rows=args.max_rows, activate=not args.no_activate, extra=extra,
                      log=lambda m: print(m, file=sys.stderr))
    print(f'registered {args.name} {v}' + (' (not active)' if args.no_activate else ''))
    return 0


def cmd_train_image(args):
    from .train import train_image
    v = train_image(args.folder, args.name, store=_store(args), valid_style=args.valid_style,
                    epochs=args.epochs, size=args.size, seed=args.seed, activate=not args.no_activate,
                    log=lambda m: print(m, file=sys.stderr))
    print(f'registered {args.name} {v}' + (' (not active)' if args.no_activate else ''))
    return 0


def cmd_import(args):
    from .importer import import_learner
    v = import_learner(args.path, args.name, csv=args.csv, store=_store(args), activate=not args.no_activate)
    print(f'registered {args.name} {v}' + (' (not active)' if args.no_activate else ''))
    return 0


def cmd_predict(args):
    if args.engine == 'dask': return _predict_on_dask(args)
    if args.scheduler or args.workers: raise ModelError('--scheduler and --workers go with --engine dask.')
    from .monitor import PredictionLog
    from .service import LocalModels
    models = LocalModels(_store(args), None if args.no_log else PredictionLog(args.log, source='cli'), source='cli')
    card = models.card(args.name, args.version)
    version, failed = card['version'], 0
    if card.get('task') == 'image':
        for r in models.classify(args.name, [(str(p), _read(p)) for p in args.files], version):
            failed += not r.ok
            print(json.dumps(r.to_dict(args.top)))
        return 1 if failed else 0
    from .tabular import iter_csv_checked
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
            row, bad, told = 0, [], 0          # bad: (line, why) of malformed lines, as the reader meets them

            def tell_bad_lines():
                for line, why in bad[told:]: print(json.dumps(dict(file=str(f), line=line, error=why)))
                return len(bad) - told
            for df in iter_csv_checked(f, bad_lines=bad):
                if row == 0: _unused(f, models.predictor(args.name, version).unused_columns(df.columns))
                for i, p in enumerate(models.predict_frame(args.name, df, version)):
                    failed += not p.ok
                    print(json.dumps(dict(file=str(f), row=row + i + 1, **p.to_dict())))
                row += len(df)
                failed += tell_bad_lines(); told = len(bad)
            failed += tell_bad_lines()
        except ModelError as e:
            failed += 1
            print(json.dumps(dict(file=str(f), error=str(e))))
    return 1 if failed else 0


def cmd_explain(args):
    """Tabular: one JSON line per row (or with --out a CSV of contributions, one column per field);
    images: the heatmap overlays written as PNGs into --out (a folder) and one JSON line per image."""
    from .service import LocalModels
    models = LocalModels(_store(args), None, source='cli')
    card = models.card(args.name, args.version)
    version, failed = card['version'], 0
    if card.get('task') == 'image':
        if not args.out: raise ModelError('--out FOLDER is needed: the heatmaps are written there as PNGs.')
        args.out.mkdir(parents=True, exist_ok=True)
        for i, r in enumerate(models.explain_images(args.name, [(str(p), _read(p)) for p in args.files], version)):
            failed += not r.ok
            d = r.to_dict(3); d.pop('heatmap_png', None)
            if r.ok:
                png = args.out / f'{i + 1:04d}_{Path(r.name).stem}_heatmap.png'
                png.write_bytes(r.heatmap); d['heatmap'] = str(png)
            print(json.dumps(d))
        return 1 if failed else 0
    from .tabular import iter_csv_checked
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


def _contribution_row(out, card, row: int, e) -> None:
    "One CSV row of contributions: row, target, probability, base, one `contribution_<field>` per field, problem."
    import csv
    fields = [c['name'] for c in card['schema']['inputs'] if c['name'] != card['schema'].get('target')]
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
    from .batch import score_on_dask
    store = _store(args)
    print(f'scoring on Dask ({"scheduler " + args.scheduler if args.scheduler else "a local cluster"})…', file=sys.stderr)
    r = score_on_dask(store, args.name, args.files, args.out, args.version, scheduler=args.scheduler,
                      workers=args.workers, blocksize=args.blocksize, top=args.top,
                      on_start=lambda link: print(f'Dask dashboard: {link}', file=sys.stderr, flush=True))
    for f, row, why in r.failed:
        print(json.dumps(dict(file=f, **({'row': row} if row is not None else {}), error=why)))
    print(json.dumps(dict(rows=r.rows, failed=len(r.failed), parts=r.parts, scored=r.out)))
    return 1 if r.failed else 0


def _read(path) -> bytes | None:
    "An image file's bytes (at most one byte over the per-file limit), or None if it cannot be read."
    from .imaging import ImageLimits
    try:
        with open(path, 'rb') as f: return f.read(ImageLimits.from_env().max_bytes + 1)
    except OSError:
        return None


def _unused(f, unused):
    if unused: print(f'{f}: columns not used by the model (kept as they are): {", ".join(unused)}', file=sys.stderr)


def cmd_api(args):
    import uvicorn
    from .imaging import ImageLimits
    ImageLimits.from_env()          # a bad limit in the environment is reported before the server starts
    print(f'model server on http://{args.host}:{args.port}/ (docs at /docs); store {_store(args).root}',
          file=sys.stderr, flush=True)
    if args.models: os.environ['FASTAI_APPS_MODELS'] = str(args.models)   # create_app reads the environment
    uvicorn.run('predictors.api:create_app', factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, timeout_graceful_shutdown=10)
    return 0


def cmd_serve(args):
    from .supervise import serve
    return serve(host=args.host, port=args.port or [8866], api_port=args.api_port, api_workers=args.api_workers,
                 operator_port=args.operator_port, keep=args.keep, voila_args=args.voila_args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog='python -m predictors', description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', help='model store folder (default: $FASTAI_APPS_MODELS or models/)')
    sub = ap.add_subparsers(dest='verb', required=True, metavar='VERB')

    p = sub.add_parser('list', help='list models and versions (* = active)'); p.set_defaults(fn=cmd_list)
    p = sub.add_parser('card', help='print the model card (JSON)')
    p.add_argument('name'); p.add_argument('--version'); p.set_defaults(fn=cmd_card)
    p = sub.add_parser('activate', help='make a version active (an older one is a rollback, the shadow a promotion)')
    p.add_argument('name'); p.add_argument('version', nargs='?')
    p.add_argument('--shadow', action='store_true', help='run VERSION beside the active one on every answer, logged, '
                   'never shown (see `performance`, the monitor)')
    p.add_argument('--no-shadow', action='store_true', help='stop running a shadow version')
    p.set_defaults(fn=cmd_activate)

    p = sub.add_parser('compare', help='two versions on the same labelled CSV: accuracy, McNemar test, agreement, '
                                       'schema changes (exit 1 if B is significantly worse)')
    p.add_argument('name'); p.add_argument('a', help='version A (e.g. the active one)'); p.add_argument('b', help='version B')
    p.add_argument('--csv', required=True, type=Path, help='labelled rows: the inputs and the true class ("truth" or the target)')
    p.add_argument('--alpha', type=float, default=0.05)
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser('labels', help='readable labels and help for the form\'s fields, from a JSON file '
                                      '{"labels": {column: text}, "help": {column: text}} (a retrain keeps them)')
    p.add_argument('name'); p.add_argument('file', type=Path)
    p.add_argument('--version', help='default: the active version')
    p.set_defaults(fn=cmd_labels)

    p = sub.add_parser('train-tabular', help='train a tabular classifier and register a new version')
    p.add_argument('--csv', required=True, type=Path); p.add_argument('--target', required=True)
    p.add_argument('--name', default='tabular_model')
    p.add_argument('--cat', help='comma-separated categorical columns (default: inferred from dtypes)')
    p.add_argument('--cont', help='comma-separated continuous columns (default: inferred from dtypes)')
    p.add_argument('--epochs', type=int, default=4); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--max-rows', type=int, help='train on a random sample of this many rows')
    p.add_argument('--describe', action='append', metavar='CLASS=TEXT',
                   help='sentence shown for a class, e.g. ">=50k=earns more than $50k a year"')
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.add_argument('--add-feedback', metavar='NAME', help='also train on the labelled answers of model NAME in the '
                   'prediction log (their inputs and the right class; duplicates dropped)')
    p.add_argument('--log', help='the prediction log for --add-feedback (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.set_defaults(fn=cmd_train_tabular)

    p = sub.add_parser('train-image', help='train an image classifier and register a new version')
    p.add_argument('--folder', required=True, type=Path,
                   help='one sub-folder per class (20%% of each held out), or <style>/<class>.png with --valid-style')
    p.add_argument('--name', default='image_model')
    p.add_argument('--valid-style', help='style layout: the style sub-folder held out for validation')
    p.add_argument('--epochs', type=int, default=100); p.add_argument('--size', type=int, default=64)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.set_defaults(fn=cmd_train_image)

    p = sub.add_parser('import', help='register a learner exported elsewhere (learn.export())')
    p.add_argument('path', type=Path); p.add_argument('--name', required=True)
    p.add_argument('--csv', type=Path, help='its training data: ranges and reference statistics come from it')
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.set_defaults(fn=cmd_import)

    p = sub.add_parser('predict', help='predict CSV rows or image files; one JSON line per input')
    p.add_argument('name'); p.add_argument('files', nargs='+', type=Path, metavar='INPUT',
                                           help='CSV files or image files (--engine dask: also Parquet, globs, image folders)')
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

    p.add_argument('--log', help='prediction log: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.add_argument('--no-log', action='store_true', help='do not record these predictions')

    p = sub.add_parser('explain', help='why: each field\'s contribution (CSV rows) or where the model looked (images)')
    p.add_argument('name'); p.add_argument('files', nargs='+', type=Path); p.add_argument('--version')
    p.add_argument('--out', type=Path, help='tabular: write a CSV of contributions here instead of JSON lines; '
                   'images (required): the folder the heatmap PNGs are written to')
    p.set_defaults(fn=cmd_explain)

    p = sub.add_parser('api', help='the model server: the models over HTTP (FastAPI; docs at /docs)')
    p.add_argument('--host', default='127.0.0.1'); p.add_argument('--port', type=int, default=8865)
    p.add_argument('--workers', type=int, default=1, help='processes, each with the models loaded (default 1)')
    p.add_argument('--log-level', default='warning', help='uvicorn log level (default: warning)')
    p.set_defaults(fn=cmd_api)

    p = sub.add_parser('serve', help='the model server and the Voila apps together (`make serve`); Ctrl-C stops both')
    p.add_argument('--host', default='127.0.0.1', help='where Voila listens (the model server stays on 127.0.0.1)')
    p.add_argument('--port', type=int, action='append',
                   help='where the apps listen (default 8866); repeat for one Voila process per port behind a proxy')
    p.add_argument('--api-port', type=int, default=8865)
    p.add_argument('--api-workers', type=int, default=1, help='model server processes (each loads the models)')
    p.add_argument('--operator-port', type=int, default=8867,
                   help="the operators' door (monitor, setup check) on 127.0.0.1, behind a token")
    p.add_argument('--keep', help='delete logged predictions older than this (e.g. 30d) at start and daily')
    p.add_argument('voila_args', nargs='*', help='more options for voila (after --)')
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser('drift', help='drift of recent inputs against the training data (exit 1 if drifted)')
    p.add_argument('name'); p.add_argument('--csv', type=Path, help='inputs to check instead of the prediction log')
    p.add_argument('--since', help='logged predictions since: 24h, 7d, 30m or an ISO time (default: all)')
    p.add_argument('--html', type=Path, help='also write a standalone HTML report here')
    p.add_argument('--log', help='prediction log: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.add_argument('--share', type=float, default=0.5, help='share of drifted columns that makes the dataset drifted')
    p.add_argument('--min-rows', type=int, default=100, help='fewer rows than this: "not enough data"')
    p.add_argument('--traffic', choices=['single', 'batch', 'all'], default='single',
                   help='logged predictions to check: answers given one at a time (default), rows of scored files, or all')
    p.set_defaults(fn=cmd_drift)

    p = sub.add_parser('feedback', help='labels that arrive later: the right class of logged answers (exit 1 if a row is refused)')
    p.add_argument('name'); p.add_argument('labels', type=Path, help='a CSV: "truth" (or the target column) and '
                   '"id" (the answer\'s id), or the input columns, matched to the latest logged answer with them')
    p.add_argument('--log', help='prediction log: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.set_defaults(fn=cmd_feedback)

    p = sub.add_parser('performance', help='live accuracy of the labelled answers against the card (exit 1 if significantly below)')
    p.add_argument('name'); p.add_argument('--version', help='default: the active version')
    p.add_argument('--since', help='answers since: 24h, 7d, 30m or an ISO time (default: all)')
    p.add_argument('--html', type=Path, help='also write the report as HTML here')
    p.add_argument('--min-labels', type=int, default=30, help='fewer labels than this: "not enough labels"')
    p.add_argument('--alpha', type=float, default=0.05, help='significance of the one-sided binomial test')
    p.add_argument('--log', help='prediction log: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.set_defaults(fn=cmd_performance)

    p = sub.add_parser('prune', help='delete logged predictions older than --keep (personal data is not kept forever)')
    p.add_argument('--keep', required=True, help='how long predictions are kept: 30d, 12h, 2w …')
    p.add_argument('--log', help='prediction log: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')
    p.set_defaults(fn=cmd_prune)

    p = sub.add_parser('verify', help='check the setup and every model, or learner files before importing them '
                                      '(exit 1 if a check fails)')
    p.add_argument('files', nargs='*', metavar='FILE', help='exported learners (.pkl) to check instead of the setup')
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser('health', help='for a process supervisor: server up, store readable, each model loads '
                                      'and answers, log readable (exit 1 if not)')
    p.add_argument('--url', help='the served apps, e.g. http://127.0.0.1:8866/ (default: no server check)')
    p.add_argument('--api', help='the model server, e.g. http://127.0.0.1:8865 (default: $FASTAI_APPS_API if set)')
    p.add_argument('--json', action='store_true', help='one JSON object instead of lines')
    p.set_defaults(fn=cmd_health)
    return ap


def cmd_drift(args):
    from .drift import DriftSettings, drift_report, report_from_log
    from .monitor import PredictionLog
    from .report import parse_since, report_page, report_text
    store = _store(args)
    card = store.card(args.name)
    settings = DriftSettings(dataset_share=args.share, min_rows=args.min_rows)
    log_df = None
    if args.csv:
        from .predictor import load_predictor
        from .tabular import read_csv_checked
        if card.get('task') != 'tabular': raise ModelError('--csv works for tabular models only.')
        df = read_csv_checked(args.csv)
        res = load_predictor(args.name, store=store).predict_frame(df)
        preds = [p.prediction for p in res if p.ok]
        report = drift_report(card, df, preds, settings)
    else:
        try: since = parse_since(args.since)
        except ValueError as e: raise ModelError(str(e)) from None
        report, log_df = report_from_log(PredictionLog(args.log), card, since=since, settings=settings,
                                         traffic=args.traffic)
    print(report_text(report))
    if args.html:
        args.html.write_text(report_page(report, log_df))
        print(f'report written to {args.html}')
    return 1 if report['verdict'] == 'drifted' else 0


def cmd_feedback(args):
    from .monitor import PredictionLog
    from .performance import labels_from_frame
    from .service import LocalModels
    from .tabular import read_csv_checked
    models = LocalModels(_store(args), PredictionLog(args.log, source='cli'), source='cli')
    card = models.card(args.name)
    try:
        pairs, problems = labels_from_frame(read_csv_checked(args.labels), card, models.log)
    except ValueError as e:
        raise ModelError(str(e)) from None
    stored = models.feedback(args.name, [(i, truth) for _, i, truth in pairs], True)
    refused = [(row, why) for (row, _, _), why in zip(pairs, stored) if why]
    problems = sorted(problems + refused)
    for row, why in problems[:20]: print(f'row {row}: {why}', file=sys.stderr)
    if len(problems) > 20: print(f'… and {len(problems) - 20} more', file=sys.stderr)
    print(json.dumps(dict(model=args.name, labelled=len(pairs) - len(refused), refused=len(problems))))
    return 1 if problems else 0


def cmd_performance(args):
    from .monitor import PredictionLog
    from .performance import PerformanceSettings, performance_html, performance_report, performance_text
    from .report import parse_since
    card = _store(args).card(args.name, args.version)
    try: since = parse_since(args.since)
    except ValueError as e: raise ModelError(str(e)) from None
    labelled = PredictionLog(args.log).labelled(args.name, card['version'], since=since)
    report = performance_report(labelled, card, PerformanceSettings(min_labels=args.min_labels, alpha=args.alpha))
    print(performance_text(report))
    from .compare import shadow_report, shadow_text
    pairs = PredictionLog(args.log).shadow_pairs(args.name, since=since)
    if len(pairs): print(shadow_text(shadow_report(pairs)))
    if args.html:
        args.html.write_text(f'<!doctype html><meta charset="utf-8"><title>{args.name} live accuracy</title>'
                             f'<style>.app-table{{border-collapse:collapse}}.app-table td,.app-table th'
                             f'{{border:1px solid #dde;padding:2px 6px}}</style>{performance_html(report)}')
        print(f'report written to {args.html}')
    return 1 if report['verdict'] == 'below the card' else 0


def cmd_prune(args):
    from .monitor import PredictionLog
    from .report import parse_since
    try: before = parse_since(args.keep)
    except ValueError as e: raise ModelError(str(e)) from None
    log = PredictionLog(args.log)
    print(f'{log.prune(before)} prediction(s) logged before {time.strftime("%Y-%m-%d %H:%M", time.gmtime(before))} '
          f'UTC deleted from {log.where}')
    return 0


def cmd_verify(args):
    from .verify import check_file, run_checks
    if args.files: return _print_checks([r for f in args.files for r in check_file(f)])
    return _print_checks(run_checks(_store(args)))


def cmd_health(args):
    from .verify import health_checks
    rows = health_checks(args.url, _store(args), api=args.api or os.environ.get('FASTAI_APPS_API'))
    if args.json:
        print(json.dumps(dict(ok=all(r['ok'] for r in rows), checks=rows)))
        return 0 if all(r['ok'] for r in rows) else 1
    return _print_checks(rows)


def _print_checks(rows):
    for r in rows:
        print(f'{"PASS" if r["ok"] else "FAIL"}  {r["check"]}: {r["detail"]}' +
              ('' if r['ok'] else f'\n      remedy: {r["remedy"]}'))
    return 0 if all(r['ok'] for r in rows) else 1


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # library chatter (deprecations) is not the user's concern; the log's own RuntimeWarning is
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    warnings.filterwarnings('ignore', category=FutureWarning)
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.formatwarning = lambda message, category, *a, **k: f'warning: {message}\n'
    try:
        return args.fn(args)
    except ModelError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f'error: {e.strerror}: {e.filename}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())

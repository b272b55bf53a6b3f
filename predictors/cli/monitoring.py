"""Keeping a deployment right: compare versions, drift, feedback, live performance, prune the log."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from predictors.cli.common import add_log, log_of, models_of, read_since, store_of
from predictors.core.store import ModelError

__all__ = ['VERBS']


def cmd_compare(args):
    from predictors.monitoring.compare import compare_text, compare_versions
    from predictors.core.csvio import read_csv_checked
    r = compare_versions(store_of(args), args.name, args.a, args.b, read_csv_checked(args.csv, max_columns=args.settings.max_csv_columns), alpha=args.alpha)
    print(compare_text(r))
    return 1 if r['verdict'] == 'B is worse' else 0


def cmd_drift(args):
    from predictors.monitoring.drift import DriftSettings, drift_report, report_from_log
    from predictors.monitoring.report import report_page, report_text
    store = store_of(args)
    card = store.card(args.name)
    settings = DriftSettings(dataset_share=args.share, min_rows=args.min_rows)
    log_df = None
    if args.csv:
        from predictors.service.loading import load_predictor
        from predictors.core.csvio import read_csv_checked
        from predictors.kinds import kind_of
        try:
            kind_of(card).accepts(args.name, 'rows')
        except ModelError as e:
            raise ModelError(f'--csv works for models of rows (records, texts): {e}') from None
        df = read_csv_checked(args.csv, max_columns=args.settings.max_csv_columns)
        res = load_predictor(args.name, store).predict_frame(df)
        preds = [p.prediction for p in res if p.ok]
        report = drift_report(card, df, preds, settings)
    else:
        since = read_since(args.since)
        report, log_df = report_from_log(log_of(args), card, since=since, settings=settings,
                                         traffic=args.traffic)
    print(report_text(report))
    if args.html:
        args.html.write_text(report_page(report, log_df))
        print(f'report written to {args.html}')
    return 1 if report['verdict'] == 'drifted' else 0


def cmd_feedback(args):
    from predictors.monitoring.performance import labels_from_frame
    from predictors.core.csvio import read_csv_checked
    models = models_of(args)
    card = models.card(args.name)
    try:
        pairs, problems = labels_from_frame(read_csv_checked(args.labels, max_columns=args.settings.max_csv_columns), card, models.log)
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
    from predictors.kinds.base import PerformanceSettings
    from predictors.monitoring.performance import performance_html, performance_report, performance_text
    card = store_of(args).card(args.name, args.version)
    since = read_since(args.since)
    labelled = log_of(args).labelled(args.name, card['version'], since=since)
    report = performance_report(labelled, card, PerformanceSettings(min_labels=args.min_labels, alpha=args.alpha))
    print(performance_text(report))
    from predictors.monitoring.compare import shadow_report, shadow_text
    pairs = log_of(args).shadow_pairs(args.name, since=since)
    if len(pairs): print(shadow_text(shadow_report(pairs, card=card)))
    if args.html:
        args.html.write_text(f'<!doctype html><meta charset="utf-8"><title>{args.name} live accuracy</title>'
                             f'<style>.app-table{{border-collapse:collapse}}.app-table td,.app-table th'
                             f'{{border:1px solid #dde;padding:2px 6px}}</style>{performance_html(report)}')
        print(f'report written to {args.html}')
    return 1 if report['verdict'] == 'below the card' else 0


def cmd_prune(args):
    before = read_since(args.keep)
    log = log_of(args)
    print(f'{log.prune(before)} prediction(s) logged before {time.strftime("%Y-%m-%d %H:%M", time.gmtime(before))} '
          f'UTC deleted from {log.where}')
    return 0




def _add_compare(sub):
    p = sub.add_parser('compare', help='two versions on the same labelled CSV: accuracy, McNemar test, agreement, '
                                       'schema changes (exit 1 if B is significantly worse)')
    p.add_argument('name'); p.add_argument('a', help='version A (e.g. the active one)'); p.add_argument('b', help='version B')
    p.add_argument('--csv', required=True, type=Path, help='labelled rows: the inputs and the true class ("truth" or the target)')
    p.add_argument('--alpha', type=float, default=0.05)
    p.set_defaults(fn=cmd_compare)


def _add_drift(sub):
    p = sub.add_parser('drift', help='drift of recent inputs against the training data (exit 1 if drifted)')
    p.add_argument('name'); p.add_argument('--csv', type=Path, help='inputs to check instead of the prediction log')
    p.add_argument('--since', help='logged predictions since: 24h, 7d, 30m or an ISO time (default: all)')
    p.add_argument('--html', type=Path, help='also write a standalone HTML report here')
    add_log(p)
    p.add_argument('--share', type=float, default=0.5, help='share of drifted columns that makes the dataset drifted')
    p.add_argument('--min-rows', type=int, default=100, help='fewer rows than this: "not enough data"')
    p.add_argument('--traffic', choices=['single', 'batch', 'all'], default='single',
                   help='logged predictions to check: answers given one at a time (default), rows of scored files, or all')
    p.set_defaults(fn=cmd_drift)


def _add_feedback(sub):
    p = sub.add_parser('feedback', help='labels that arrive later: the right class of logged answers (exit 1 if a row is refused)')
    p.add_argument('name'); p.add_argument('labels', type=Path, help='a CSV: "truth" (or the target column) and '
                   '"id" (the answer\'s id), or the input columns, matched to the latest logged answer with them')
    add_log(p)
    p.set_defaults(fn=cmd_feedback)


def _add_performance(sub):
    p = sub.add_parser('performance', help='live accuracy of the labelled answers against the card (exit 1 if significantly below)')
    p.add_argument('name'); p.add_argument('--version', help='default: the active version')
    p.add_argument('--since', help='answers since: 24h, 7d, 30m or an ISO time (default: all)')
    p.add_argument('--html', type=Path, help='also write the report as HTML here')
    p.add_argument('--min-labels', type=int, default=30, help='fewer labels than this: "not enough labels"')
    p.add_argument('--alpha', type=float, default=0.05, help='significance of the one-sided binomial test')
    add_log(p)
    p.set_defaults(fn=cmd_performance)


def _add_prune(sub):
    p = sub.add_parser('prune', help='delete logged predictions older than --keep (personal data is not kept forever)')
    p.add_argument('--keep', required=True, help='how long predictions are kept: 30d, 12h, 2w …')
    add_log(p)
    p.set_defaults(fn=cmd_prune)


VERBS = (_add_compare, _add_drift, _add_feedback, _add_performance, _add_prune)     # each adds its verb to the sub-parsers

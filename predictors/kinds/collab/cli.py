"""What a recommender brings to the command line: `train-collab` (`Training`), `recommend` (a ranked list per person, as
CSV: for people the model knows, or new people from a file of their own ratings) and `items` (register the items'
titles and other columns with a model, kept across retrains)."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from predictors.core.errors import ModelError
from predictors.kinds.base import Command, Training

__all__ = ['TRAINING', 'COMMANDS']


def train_arguments(p) -> None:
    "The options of `train-collab`."
    p.add_argument('--csv', required=True, type=Path, help='ratings: a user, an item and a rating per row (and their time)')
    p.add_argument('--name', default='recommender')
    p.add_argument('--user', default='userId'); p.add_argument('--item', default='movieId')
    p.add_argument('--rating', default='rating')
    p.add_argument('--time', default='timestamp', help='when each rating was given: each person\'s latest ratings are held '
                   'out (empty: the order of the file)')
    p.add_argument('--items', type=Path, help='the items\' titles and other columns (a CSV: id, title, …)')
    p.add_argument('--factors', type=int, default=50); p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--lr', type=float, default=5e-3); p.add_argument('--wd', type=float, default=0.2)
    p.add_argument('--nn', action='store_true', help='an embedding network (EmbeddingNN) instead of a dot product')
    p.add_argument('--valid-share', type=float, default=0.1, help="each person's latest share of ratings held out")
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')


def train_run(args, store, context) -> str:
    "Train, register and return the new version (the items' file of the active version is kept when none is given)."
    from predictors.kinds.collab.train import train_collab
    items = args.items
    if items is None and args.name in store.names(): items = store.file(args.name, None, 'items.csv')
    if items is not None and args.items is None: context.log(f'{args.name}: kept the items\' titles of the active version')
    return train_collab(args.csv, args.name, store, user=args.user, item=args.item, rating=args.rating,
                        when=args.time or None, items=items, factors=args.factors, epochs=args.epochs, lr=args.lr,
                        wd=args.wd, use_nn=args.nn, share=args.valid_share, seed=args.seed,
                        activate=not args.no_activate, log=context.log)


def recommend_arguments(p) -> None:
    p.add_argument('name')
    p.add_argument('--user', action='append', default=[], metavar='ID', help='a person the model knows (repeat)')
    p.add_argument('--users', type=Path, help='a file of such people: one id per line (a header line is skipped)')
    p.add_argument('--ratings', type=Path, help='a CSV of ratings by people the model has not seen (its user, item and '
                   'rating columns as in training): each person answered from their own rows')
    p.add_argument('--top', type=int, default=10)
    p.add_argument('--where', action='append', default=[], metavar='COLUMN=VALUE', help='only items whose column holds '
                   'VALUE (an items\' file column, e.g. genres=Comedy)')
    p.add_argument('--include-seen', action='store_true', help='also recommend what the person rated')
    p.add_argument('--version')


def _people(args, card) -> tuple[list, list]:
    "([ids of people the model knows: --user, --users], [(a new person, their ratings): --ratings])."
    known, new = list(args.user), []
    if args.users:
        with open(args.users, newline='') as f:
            ids = [r[0].strip() for r in csv.reader(f) if r and r[0].strip()]
        known += ids[1 if ids and not ids[0].replace('.', '').isdigit() and len(ids) > 1 else 0:]
    if args.ratings:
        from predictors.core.csvio import read_csv_checked
        c = card.get('collab') or {}
        df = read_csv_checked(args.ratings, max_columns=args.settings.max_csv_columns)
        missing = [x for x in (c.get('user'), c.get('item'), c.get('rating')) if x not in df.columns]
        if missing: raise ModelError(f'{args.ratings} lacks the column(s) {", ".join(missing)} (the model\'s user, item and '
                                     f'rating columns; it has {", ".join(map(str, df.columns))}).')
        new = [(str(p), list(zip(g[c['item']], g[c['rating']]))) for p, g in df.groupby(c['user'], sort=False)]
    if not known and not new: raise ModelError('give --user ID, --users FILE or --ratings FILE.')
    return known, new


def recommend_run(args, context) -> int:
    "One CSV row per recommendation (user, rank, item, score, rating, then the item's columns); a person that fails, a line."
    models = context.models()
    card = models.card(args.name, args.version)
    where = dict(w.split('=', 1) for w in args.where if '=' in w)
    if len(where) != len(args.where): raise ModelError('--where is COLUMN=VALUE.')
    out, failed, header = csv.writer(sys.stdout), 0, None
    known, new = _people(args, card)
    ask = dict(top=args.top, exclude_seen=not args.include_seen, where=where or None, version=card['version'])
    answers = list(zip(known, models.recommend_each(args.name, known, **ask))) if known else []
    for person, ratings in new:
        try:
            answers.append((person, models.recommend(args.name, ratings=ratings, **ask)))
        except ModelError as e:
            answers.append((person, e))
    for person, got in answers:
        if isinstance(got, ModelError):
            failed += 1; print(f'{person}: {got}', file=sys.stderr); continue
        for w in got.warnings: print(f'{person}: {w}', file=sys.stderr)
        for r in got.items:
            if header is None:
                header = ['user', 'rank', 'item', 'score', 'rating', 'title', *r.about]; out.writerow(header)
            out.writerow([person, r.rank, r.item, r.score, r.rating, r.title, *r.about.values()])
    return 1 if failed else 0


def items_arguments(p) -> None:
    p.add_argument('name'); p.add_argument('file', type=Path, help='a CSV: the item id (first column, or the model\'s '
                                                                  'item column), title, then any other columns')
    p.add_argument('--version', help='default: the active version')


def items_run(args, context) -> int:
    "Register the items' file with a version (checked: it names items the model knows)."
    import tempfile
    from predictors.kinds.collab.items import FILE, items_info, read_items
    store = context.store()
    card = store.card(args.name, args.version)
    item = (card.get('collab') or {}).get('item')
    if item is None: raise ModelError(f'{args.name} is not a recommender: items are a recommender\'s.')
    df = read_items(args.file, item)
    with tempfile.TemporaryDirectory() as d:
        df.to_csv(Path(d) / FILE, index=False)
        v = store.set_file(args.name, card['version'], FILE, Path(d) / FILE, about=items_info(df, args.file))
    print(f'{args.name} {v}: {len(df):,} items with titles ({", ".join(df.columns[2:]) or "no other columns"})')
    return 0


TRAINING = Training('train-collab', 'train a recommender (collaborative filtering) on ratings and register a new version',
                    train_arguments, train_run)
COMMANDS = (Command('recommend', 'a ranked list of items per person (CSV): people a recommender knows, or new people from '
                    'their own ratings', recommend_arguments, recommend_run),
            Command('items', "register the items' titles and other columns with a recommender (kept across retrains)",
                    items_arguments, items_run))

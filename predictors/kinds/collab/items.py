"""What a recommender knows of its items besides their ids: a CSV registered with the model (`python -m predictors items
MODEL FILE`, kept across retrains) whose first column (or the model's item column) is the item's id and whose `title`
column (or second column) names it; every other column (genres, year…) is shown beside a recommendation, and a column
of `|`-separated values (MovieLens' genres) is a filter. Without it, items are shown by their ids.
"""
from __future__ import annotations

import pandas as pd

from predictors.core.errors import ModelError

__all__ = ['read_items', 'Catalogue', 'FILE', 'items_info']

FILE = 'items.csv'          # its name beside the model in the store
FEW_VALUES = 30             # a column of at most this many values (a language, a decade) is a filter in the app


def read_items(src, item: str) -> pd.DataFrame:
    """The items' CSV as the store keeps it: the id column named as the model's item column, then `title`, then the
    others; ids as text. `ModelError` for a file that names no items."""
    try:
        df = pd.read_csv(src, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise ModelError(f'cannot read the items CSV {src}: {e}') from None
    if df.shape[1] < 2 or not len(df):
        raise ModelError(f'the items CSV {src} needs an id column and a title column, with a row per item.')
    idc = item if item in df.columns else df.columns[0]
    title = 'title' if 'title' in df.columns else next(c for c in df.columns if c != idc)
    df = df.rename(columns={idc: item, title: 'title'}).drop_duplicates(item)
    return df[[item, 'title', *[c for c in df.columns if c not in (item, 'title')]]]


def items_info(df: pd.DataFrame, source) -> dict:
    "What the card says of an items' file: its rows, columns and source, and each filter column's values (the app's menus)."
    cat = Catalogue(df, df.columns[0])
    return dict(rows=len(df), columns=list(df.columns), source=str(source), filters={c: cat.values(c) for c in cat.filters})


class Catalogue:
    "The items by id as text: their titles and other columns (empty without a file), and title search."

    def __init__(self, df: pd.DataFrame | None, item: str):
        self.item = item
        self.rows = {} if df is None else {str(r[item]): r for r in df.to_dict('records')}
        self.columns = [] if df is None else [c for c in df.columns if c not in (item, 'title')]
        self.lists = [c for c in self.columns if df is not None and df[c].str.contains('|', regex=False).mean() > 0.2]
        self.filters = self.lists + [c for c in self.columns                    # lists of values, or a few values
                                     if c not in self.lists and df is not None and 2 <= df[c].nunique() <= FEW_VALUES]

    def title(self, item) -> str:
        "An item's title, else its id."
        row = self.rows.get(str(item))
        return str(row['title']) if row is not None and row.get('title') else str(item)

    def about(self, item) -> dict:
        "An item's other columns ({} without a file)."
        row = self.rows.get(str(item)) or {}
        return {c: row.get(c, '') for c in self.columns}

    def values(self, column: str) -> list[str]:
        "The values of a filter column (`|`-separated lists: each value once), sorted."
        return sorted({v for r in self.rows.values() for v in str(r.get(column, '')).split('|') if v and v != '(no genres listed)'})

    def matches(self, item, where: dict | None) -> bool:
        "Whether an item has every value `where` asks of its columns ({column: value})."
        for c, want in (where or {}).items():
            have = str((self.rows.get(str(item)) or {}).get(c, ''))
            if want not in (have.split('|') if c in self.lists else [have]): return False
        return True

    def search(self, text: str, known: dict, weight=lambda k: 0) -> list:
        """Items whose title (or id) holds every word of `text`, case ignored, of those `known` ({id as text: index}):
        [(id, title)], the title that is `text` first, then those that start with it, then by `weight(id)` (most first)."""
        words = [w for w in str(text).lower().split() if w]
        if not words: return []
        found, whole = [], ' '.join(words)
        for k in known:
            t = self.title(k).lower()
            if all(w in t or w == k.lower() for w in words):
                found.append((t != whole, not t.startswith(whole) and not t.startswith('the ' + whole), -weight(k), t, k))
        return [(f[-1], self.title(f[-1])) for f in sorted(found)]

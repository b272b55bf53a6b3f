"""Reading CSV files people upload: a stream of DataFrames in bounded memory, and plain-English reasons
when a file cannot be read (empty, not UTF-8, a malformed line, an unclosed quote)."""
from __future__ import annotations

import re

import pandas as pd

from predictors.core.store import ModelError

__all__ = ['CSV_CHUNK', 'iter_csv_checked', 'read_csv_checked', 'bad_line_text', 'spreadsheet_safe']

CSV_CHUNK = 50_000   # rows per chunk when a CSV is read as a stream


_SKIPPED = re.compile(r'Skipping line (\d+): expected (\d+) fields, saw (\d+)')
_TOKENIZE = re.compile(r'Expected (\d+) fields in line (\d+), saw (\d+)')
_OPEN_QUOTE = re.compile(r'EOF inside string starting (?:at|in) (?:row|line) (\d+)')


def bad_line_text(line: int, expected: int, saw: int) -> str:
    "Why a line of a CSV was skipped, in plain words (the line counts from 1, the header included)."
    return (f'line {line} of the file has {saw} values where the header has {expected} columns '
            f'(a comma too many or too few?): it was not scored')


def _plain_parser_error(e) -> str:
    text = str(e).strip()
    if m := _TOKENIZE.search(text): return bad_line_text(int(m.group(2)), int(m.group(1)), int(m.group(3)))
    if m := _OPEN_QUOTE.search(text):
        return f'a quote (") opened near row {m.group(1)} is never closed, so the rest of the file cannot be read'
    return text


def iter_csv_checked(src, chunksize: int = CSV_CHUNK, progress=None, bad_lines: list | None = None, **kwargs):
    """Read a CSV (path or bytes) as a stream of DataFrames of `chunksize` rows, so memory stays
    bounded whatever the file's size; raise `ModelError` saying plainly why it cannot be read.

    `progress(done_bytes, total_bytes)` is called after each chunk. With a `bad_lines` list, lines
    with more or fewer values than the header are skipped and `(line number, why)` appended to
    it as they are met; without one such a line stops the reading with that reason."""
    import io
    import warnings
    inline = isinstance(src, (bytes, bytearray, memoryview))
    name = 'the upload' if inline else str(src)
    try:
        fh = io.BytesIO(src) if inline else open(src, 'rb')
    except OSError as e:
        raise ModelError(f'{name} cannot be opened: {e.strerror or e}.') from None
    if bad_lines is not None: kwargs['on_bad_lines'] = 'warn'
    with fh:
        total = fh.seek(0, io.SEEK_END); fh.seek(0)
        while (block := fh.read(1 << 16)) and not block.strip(): pass
        if not block.strip():
            raise ModelError(f'{name} is empty: a CSV needs a header row and at least one row.')
        fh.seek(0)
        rows = 0
        try:
            reader = pd.read_csv(fh, chunksize=chunksize, encoding='utf-8-sig', **kwargs)
            while True:
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter('always', pd.errors.ParserWarning)
                    chunk = next(reader, None)
                for w in seen:
                    for m in _SKIPPED.finditer(str(w.message)):
                        bad_lines.append((int(m.group(1)), bad_line_text(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
                if chunk is None: break
                if not len(chunk): continue
                rows += len(chunk)
                if progress: progress(min(fh.tell(), total), total)
                yield chunk
        except UnicodeDecodeError:
            where = f'after row {rows}' if rows else 'in the first rows'
            raise ModelError(f'{name} is not UTF-8 text ({where}): save the file as CSV UTF-8 and try again.') from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ModelError(f'{name} is not a readable CSV: {_plain_parser_error(e)}.') from None
    if not rows: raise ModelError(f'{name} has a header but no rows.')


def read_csv_checked(src, **kwargs) -> pd.DataFrame:
    "The whole CSV (path or bytes) as one DataFrame, or `ModelError` saying plainly why it cannot be read."
    return pd.concat(list(iter_csv_checked(src, **kwargs)), ignore_index=True)


_FORMULA = ('=', '+', '-', '@', '\t', '\r')


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` whose text cells a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+SUM(…)`, `@SUM`,
    `=cmd|'/c calc'!A0`) start with a `'`, so a scored file opened in Excel shows them as text (OWASP: CSV
    injection). Numbers written as text (`-5`) are left as they are."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype != object: continue
        # the column's distinct values, not its every cell: this runs on each chunk of every scored file
        risky = [v for v in pd.unique(out[c]) if isinstance(v, str) and v[:1] in _FORMULA and not _is_number(v)]
        if risky:
            m = out[c].isin(risky)
            out.loc[m, c] = "'" + out.loc[m, c]
    return out


def _is_number(text: str) -> bool:
    try:
        float(text); return True
    except ValueError:
        return False
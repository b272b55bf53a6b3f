"""Reading CSV files people upload: a stream of DataFrames in bounded memory and bounded work per line, and
plain-English reasons when a file or a line cannot be read (empty, not UTF-8, too many columns, a line with
more or fewer values than the header, a NUL character, an unclosed quote)."""
from __future__ import annotations

import collections
import csv
import io

import pandas as pd

from predictors.core.store import ModelError
from predictors.core.settings import Settings

__all__ = ['CSV_CHUNK', 'iter_csv_checked', 'read_csv_checked', 'bad_line_text', 'spreadsheet_safe', 'whole_numbers']

CSV_CHUNK = 50_000   # rows per chunk when a CSV is read as a stream
_BLOCK = 1 << 20


def bad_line_text(line: int, expected: int, saw: int) -> str:
    "Why a line of a CSV was not scored, in plain words (the line counts from 1, the header included)."
    return (f'line {line} of the file has {saw:,} values where the header has {expected:,} columns '
            f'(a comma too many or too few?): it was not scored')


class _CheckedLines(io.RawIOBase):
    """The bytes of a CSV as pandas is given them: each line's values counted as it is read (quotes and
    values over several lines understood as pandas does), so no line costs more than its length.

    The header may have at most `max_columns` columns. A line whose extra values are all empty (a
    trailing comma, common in exports) loses them; any other line with more or fewer values than the
    header, or with a NUL character, is held back and `(line, why, rows before it)` appended to `bad`.
    Blank lines are left out, as pandas does. `rows` counts the lines passed on after the header."""

    def __init__(self, fh, max_columns: int, bad: list):
        self.fh, self.max_columns, self.bad = fh, max_columns, bad
        self.columns, self.rows, self.line = None, 0, 0
        self._out, self._lines, self._rest, self._cr = bytearray(), collections.deque(), b'', False

    def readable(self): return True

    def readinto(self, buf) -> int:
        while len(self._out) < len(buf) and self._more(): pass
        n = min(len(buf), len(self._out))
        buf[:n] = self._out[:n]
        del self._out[:n]
        return n

    def _read_block(self) -> bool:
        "The next block's whole lines into `_lines`; False at the end of the file."
        block = self.fh.read(_BLOCK)
        if not block:
            if self._rest: self._lines.append(self._rest); self._rest = b''; return True
            return False
        if self.line == 0 and not self._rest and not self._lines:
            if block.startswith(b'\xef\xbb\xbf'): block = block[3:]
            self._cr = b'\n' not in block and b'\r' in block
        if self._cr: block = block.replace(b'\r', b'\n')          # old Mac line ends
        lines = (self._rest + block).split(b'\n')
        self._rest = lines.pop()
        self._lines.extend(lines)
        return True

    def _next_line(self) -> bytes | None:
        while not self._lines:
            if not self._read_block(): return None
        self.line += 1
        return self._lines.popleft()

    def _more(self) -> bool:
        "Pass on the next lines (a whole block at once when every line of it is plainly right); False at the end."
        if not self._lines and not self._read_block(): return False
        n = self.columns
        if n and n > 1 and len(self._lines) > 1:
            lines = list(self._lines)
            joined = b'\n'.join(lines)
            if b'"' not in joined and b'\0' not in joined and all(x.count(b',') == n - 1 for x in lines):
                self._lines.clear()
                self._out += joined; self._out += b'\n'
                self.line += len(lines); self.rows += len(lines)
                return True
        for _ in range(len(self._lines)):      # this block line by line (a quoted record may take lines of the next)
            if (line := self._next_line()) is None: break
            self._record(line)
        return True

    def _record(self, line: bytes) -> None:
        "Check the record that starts with `line` (file line `self.line`) and pass it on or hold it back."
        first = self.line
        if b'"' in line: line, values = self._quoted(line, first)
        else: values = line.count(b',') + 1
        body = line.rstrip(b'\r')
        if not body.strip(): return
        if self.columns is None:
            if b'\0' in body: raise UnicodeDecodeError('utf-8', body, body.index(b'\0'), len(body), 'a NUL in the header')
            body = body.rstrip(b',')
            self.columns = values - (len(line.rstrip(b'\r')) - len(body))
            if self.columns > self.max_columns:
                raise ModelError(f'the header has {self.columns:,} columns, over the limit of {self.max_columns:,}: '
                                 f'keep the columns the model reads (FASTAI_APPS_MAX_CSV_COLUMNS sets the limit)')
            self._out += body + b'\n'
            return
        if values is not None and values > self.columns:
            cut = min(len(body) - len(body.rstrip(b',')), values - self.columns)
            body, values = body[:len(body) - cut], values - cut
        if values is None: why = f'line {first} of the file has a value that cannot be read (over 128 KB?): it was not scored'
        elif values != self.columns: why = bad_line_text(first, self.columns, values)
        elif b'\0' in body: why = (f'line {first} of the file has a NUL character in it (a file saved as UTF-16? '
                                   f'Save it as CSV UTF-8): it was not scored')
        else:
            self.rows += 1
            self._out += body + b'\n'
            return
        self.bad.append((first, why, self.rows))

    def _quoted(self, line: bytes, first: int) -> tuple[bytes, int | None]:
        """A line with a quote: the lines of its record (a quoted value may go on over several) and its number
        of values (None if one cannot be read), read by Python's csv module, which quotes as pandas does."""
        raw, dry = [line], False

        def lines():
            nonlocal dry
            yield line.decode('utf-8', 'replace') + '\n'
            while (more := self._next_line()) is not None:     # asked for only while a quoted value goes on
                raw.append(more)
                yield more.decode('utf-8', 'replace') + '\n'
            dry = True
        try:
            values = len(next(csv.reader(lines()), None) or [''])
        except csv.Error:
            values = None
        if dry:
            raise ModelError(f'a quote (") opened on line {first} is never closed, so the rest of the file cannot be read')
        return b'\n'.join(raw), values

def iter_csv_checked(src, chunksize: int = CSV_CHUNK, progress=None, bad_lines: list | None = None,
                     max_columns: int | None = None, **kwargs):
    """Read a CSV (path or bytes) as a stream of DataFrames of `chunksize` rows, so memory stays
    bounded whatever the file's size; raise `ModelError` saying plainly why it cannot be read.

    `progress(done_bytes, total_bytes)` is called after each chunk. Lines with more or fewer values
    than the header (after trailing empty ones), or with a NUL, are never given to pandas: with a
    `bad_lines` list each is appended to it as `(line, why, good rows before it)` as the reader meets
    it (a file of bad lines only gives one empty frame with the header's columns); without one the
    first stops the reading with its reason. The header may have `max_columns` columns (default: `Settings`'
    default; a process's own setting is passed down from where it starts)."""
    inline = isinstance(src, (bytes, bytearray, memoryview))
    name = 'the upload' if inline else str(src)
    try:
        fh = io.BytesIO(src) if inline else open(src, 'rb')
    except OSError as e:
        raise ModelError(f'{name} cannot be opened: {e.strerror or e}.') from None
    bad = [] if bad_lines is None else bad_lines
    with fh:
        total = fh.seek(0, io.SEEK_END); fh.seek(0)
        while (block := fh.read(1 << 16)) and not block.strip(): pass
        if not block.strip():
            raise ModelError(f'{name} is empty: a CSV needs a header row and at least one row.')
        fh.seek(0)
        lines = _CheckedLines(fh, max_columns or Settings.max_csv_columns, bad)
        rows, empty = 0, None
        try:
            reader = pd.read_csv(io.BufferedReader(lines, 1 << 16), chunksize=chunksize, encoding='utf-8',
                                 index_col=False, **kwargs)
            for chunk in reader:
                if bad and bad_lines is None: raise ModelError(f'{name} is not a readable CSV: {bad[0][1]}.')
                if not len(chunk):
                    empty = chunk; continue
                rows += len(chunk)
                if progress: progress(min(fh.tell(), total), total)
                yield chunk
        except ModelError as e:
            raise ModelError(str(e) if str(e).startswith(name) else f'{name} is not a readable CSV: {e}.') from None
        except UnicodeDecodeError:
            where = f'after row {rows}' if rows else 'in the first rows'
            raise ModelError(f'{name} is not UTF-8 text ({where}): save the file as CSV UTF-8 and try again.') from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ModelError(f'{name} is not a readable CSV: {str(e).strip()}.') from None
    if bad and bad_lines is None: raise ModelError(f'{name} is not a readable CSV: {bad[0][1]}.')
    if not rows and bad and empty is not None: yield empty
    elif not rows: raise ModelError(f'{name} has a header but no rows.')


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


def whole_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with each decimal column whose values are all whole numbers as whole numbers: pandas reads a column
    of integers with one empty cell as decimals, so a scored file said `77516.0` where the input said `77516`."""
    import numpy as np
    whole = []
    for c in df.columns:
        if df[c].dtype.kind != 'f': continue
        v = df[c].to_numpy()
        v = v[~np.isnan(v)]
        if len(v) and np.all(np.abs(v) < 2 ** 53) and np.all(v == np.round(v)): whole.append(c)
    return df.astype({c: 'Int64' for c in whole}) if whole else df


def _is_number(text: str) -> bool:
    try:
        float(text); return True
    except ValueError:
        return False
"""A CSV scored chunk by chunk, as a stream of bytes: bounded memory whatever its size."""
from __future__ import annotations

import itertools

from predictors.core.csvio import CSV_CHUNK, iter_csv_checked
from predictors.core.results import ERROR_PREFIX

__all__ = ['ScoredCsv']


class ScoredCsv:
    """A CSV (path or bytes) scored chunk by chunk: bounded memory whatever its size.

    The first chunk is read at once, so a file that cannot be read or lacks a column the model
    needs raises `ModelError` here, and `unused` (columns the model does not read) is known before
    any output. Iterating yields the scored CSV's bytes (header first): the input's columns,
    `prediction`, `probability_<class>` and `problem`. `rows` and `failed` count as it goes;
    `record(chunk, predictions)` is called for each chunk once its bytes are taken.
    """

    def __init__(self, pred, src, chunksize: int | None = None, progress=None, record=None, max_columns: int | None = None):
        self.pred, self.record = pred, record
        self.bad_lines: list = []            # (line, why) of lines skipped as malformed, as they are met
        self._chunks = iter_csv_checked(src, chunksize or CSV_CHUNK, progress, bad_lines=self.bad_lines,
                                        max_columns=max_columns)
        first = next(self._chunks)
        pred.require_columns(first.columns, 'the CSV')
        self.unused = pred.unused_columns(first.columns)
        self._first, self.rows, self.failed = first, 0, 0

    def __iter__(self):
        """The scored CSV's bytes, a row per line of the input in its order: a line that could not be read
        comes back in its place with empty inputs and the reason in `problem`."""
        header, told, done, columns = True, 0, 0, None
        for df in itertools.chain([self._first], self._chunks):
            res = self.pred.predict_frame(df)
            self.rows += len(df); self.failed += len(res.errors)
            out = self.pred.score_frame(df, res)
            columns, done = out.columns, done + len(df)
            block, told = self._with_bad_lines(out, done - len(df), done, told)
            yield block.to_csv(index=False, header=header).encode()
            header = False
            if self.record: self.record(df, res)        # logged once taken: a reader that stops early logs no more
        if told < len(self.bad_lines) and columns is not None:        # malformed lines after the last rows
            block, told = self._with_bad_lines(out.iloc[:0], done, None, told)
            yield block.to_csv(index=False, header=header).encode()
        self._first = None

    def _with_bad_lines(self, out, start: int, end: int | None, told: int):
        """`out` (the scored rows `start`…`end` of the file's good rows) with a row, in its place, for each line
        met since `told` that could not be read (empty inputs, the reason in `problem`); `end` None: all of them."""
        import pandas as pd
        new = [b for b in self.bad_lines[told:] if end is None or b[2] < end]
        if not new: return out, told
        out = out.astype({c: 'Int64' for c in out.columns if out[c].dtype.kind in 'iu'})     # stay whole beside empty rows
        rows = out.iloc[:0].reindex(range(len(new)))                                       # empty cells, the same types
        rows['problem'] = [ERROR_PREFIX + why for _, why, _ in new]
        self.rows += len(new); self.failed += len(new)
        keys = [(start + i, 1) for i in range(len(out))] + [(before, 0) for _, _, before in new]
        block = pd.concat([out, rows], ignore_index=True)
        return block.iloc[sorted(range(len(keys)), key=keys.__getitem__)], told + len(new)

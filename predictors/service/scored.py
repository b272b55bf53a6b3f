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
    `record(chunk, predictions)` is called for each chunk.
    """

    def __init__(self, pred, src, chunksize: int | None = None, progress=None, record=None):
        self.pred, self.record = pred, record
        self.bad_lines: list = []            # (line, why) of lines skipped as malformed, as they are met
        self._chunks = iter_csv_checked(src, chunksize or CSV_CHUNK, progress, bad_lines=self.bad_lines)
        first = next(self._chunks)
        pred.require_columns(first.columns, 'the CSV')
        self.unused = pred.unused_columns(first.columns)
        self._first, self.rows, self.failed = first, 0, 0

    def __iter__(self):
        import pandas as pd
        header, told, columns = True, 0, None
        for df in itertools.chain([self._first], self._chunks):
            res = self.pred.predict_frame(df)
            if self.record: self.record(df, res)
            self.rows += len(df); self.failed += len(res.errors)
            out = self.pred.score_frame(df, res)
            columns = out.columns
            block, told = self._with_bad_lines(out, told)
            yield block.to_csv(index=False, header=header).encode()
            header = False
        if told < len(self.bad_lines) and columns is not None:        # malformed lines after the last rows
            block, told = self._with_bad_lines(pd.DataFrame(columns=columns), told)
            yield block.to_csv(index=False, header=False).encode()
        self._first = None

    def _with_bad_lines(self, out, told: int):
        "`out` followed by a row per malformed line met since `told` (empty inputs, the reason in `problem`)."
        import pandas as pd
        new = self.bad_lines[told:]
        if not new: return out, told
        rows = pd.DataFrame({c: [None] * len(new) for c in out.columns})
        rows['problem'] = [ERROR_PREFIX + why for _, why in new]
        self.rows += len(new); self.failed += len(new)
        return pd.concat([out, rows], ignore_index=True), told + len(new)

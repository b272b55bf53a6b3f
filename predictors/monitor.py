"""The prediction log: every prediction the apps and the CLI make, in SQLite (WAL mode).

Logging never slows or breaks a prediction: a failed write is reported once (a warning and
`PredictionLog.problem`) and the prediction is returned all the same.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import uuid
import warnings
from pathlib import Path

__all__ = ['PredictionLog', 'Logged', 'default_log_path', 'SESSION']

SESSION = uuid.uuid4().hex[:12]   # one per process: a Voila kernel serves one visitor

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    task TEXT NOT NULL,
    source TEXT NOT NULL,
    session TEXT NOT NULL,
    inputs TEXT NOT NULL,
    prediction TEXT,
    probabilities TEXT,
    latency_ms REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS predictions_model_ts ON predictions (model, ts);
"""


def default_log_path() -> Path:
    "`$FASTAI_APPS_LOG`, else `logs/predictions.db` in this repository."
    env = os.environ.get('FASTAI_APPS_LOG')
    return Path(env) if env else Path(__file__).resolve().parent.parent / 'logs' / 'predictions.db'


def _clean(v):
    "JSON-safe scalars: NaN/inf become None, numpy scalars plain Python."
    if hasattr(v, 'item') and not isinstance(v, (list, dict, str, bytes)): v = v.item()
    if isinstance(v, float) and not math.isfinite(v): return None
    return v


class PredictionLog:
    "Append-only log of predictions in one SQLite file; safe for many processes at once."

    def __init__(self, path=None, source: str = 'app', session: str = SESSION):
        self.path = Path(path) if path is not None else default_log_path()
        self.source, self.session, self.problem, self._ready = source, session, None, False

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.execute('PRAGMA busy_timeout=30000')
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con.execute('PRAGMA journal_mode=WAL')
            con.executescript(_SCHEMA)
            self._ready = True
        return con

    def record(self, model: str, version: str, task: str, entries: list[dict]) -> bool:
        """Append entries {inputs, prediction, probabilities, latency_ms, error}; False if it failed.

        A failure is reported once per log object and never raised.
        """
        if not entries: return True
        now = time.time()
        rows = [(now, model or '?', version or '?', task, self.source, self.session,
                 json.dumps({k: _clean(v) for k, v in (e.get('inputs') or {}).items()}, default=str),
                 e.get('prediction'),
                 json.dumps({k: round(float(p), 6) for k, p in e['probabilities'].items()}) if e.get('probabilities') else None,
                 e.get('latency_ms'), e.get('error')) for e in entries]
        try:
            con = self._connect()
            try:
                con.execute('BEGIN IMMEDIATE')
                con.executemany('INSERT INTO predictions (ts, model, version, task, source, session, inputs, '
                                'prediction, probabilities, latency_ms, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)', rows)
                con.execute('COMMIT')
            finally:
                con.close()
            return True
        except (sqlite3.Error, OSError) as e:
            if self.problem is None:
                self.problem = f'predictions are not being logged to {self.path}: {e}'
                warnings.warn(self.problem, RuntimeWarning, stacklevel=2)
            return False

    def read(self, model: str | None = None, since: float | None = None, until: float | None = None,
             limit: int | None = None):
        "Logged predictions as a DataFrame (newest last); `inputs` and `probabilities` parsed."
        import pandas as pd
        cols = ['id', 'ts', 'model', 'version', 'task', 'source', 'session', 'inputs', 'prediction',
                'probabilities', 'latency_ms', 'error']
        if not self.path.exists(): return pd.DataFrame(columns=cols)
        q, args = 'SELECT ' + ', '.join(cols) + ' FROM predictions WHERE 1=1', []
        if model: q += ' AND model = ?'; args.append(model)
        if since is not None: q += ' AND ts >= ?'; args.append(since)
        if until is not None: q += ' AND ts < ?'; args.append(until)
        q += ' ORDER BY id' + (' DESC LIMIT ?' if limit else '')
        if limit: args.append(limit)
        con = self._connect()
        try:
            df = pd.DataFrame(con.execute(q, args).fetchall(), columns=cols)
        finally:
            con.close()
        if limit: df = df.iloc[::-1].reset_index(drop=True)
        df['inputs'] = df['inputs'].map(json.loads)
        df['probabilities'] = df['probabilities'].map(lambda s: json.loads(s) if s else None)
        return df

    def count(self, model: str | None = None) -> int:
        if not self.path.exists(): return 0
        con = self._connect()
        try:
            q = 'SELECT COUNT(*) FROM predictions' + (' WHERE model = ?' if model else '')
            return con.execute(q, [model] if model else []).fetchone()[0]
        finally:
            con.close()


class Logged:
    "Mixin for predictors: set `.log` to a PredictionLog and every prediction is recorded."
    log: PredictionLog | None = None

    def _record(self, entries: list[dict]) -> None:
        if self.log is None or not entries: return
        try:
            self.log.record(self.name, self.version, self.task, entries)
        except Exception as e:  # noqa: BLE001 - logging must never break a prediction
            if self.log.problem is None:
                self.log.problem = f'predictions are not being logged: {type(e).__name__}: {e}'
                warnings.warn(self.log.problem, RuntimeWarning, stacklevel=2)

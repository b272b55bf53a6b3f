"""The prediction log: every prediction the apps and the CLI make, in a SQL database.

The default is one SQLite file in WAL mode (`logs/predictions.db`); `$FASTAI_APPS_LOG` or a
`--log` option may name another file or a SQLAlchemy URL such as
`postgresql+psycopg://user:password@host/dbname`. Logging never slows or breaks a prediction:
a failed write is reported once (a warning and `PredictionLog.problem`) and the prediction is
returned all the same.

Feedback (the right class of a logged prediction, from the apps' "Was this right?" or labels that
arrive later) is a second table, `feedback`, keyed by the prediction's id; the latest label of a
prediction counts. A shadow version's answers (`ModelStore.set_shadow`) go to a third table,
`shadow`, beside the id of the answer that was shown.
"""
from __future__ import annotations

import json
import math
import time
import uuid
import warnings
from pathlib import Path

import sqlalchemy as sa
from predictors.core.store import ModelError

__all__ = ['PredictionLog', 'log_url', 'SESSION']

SESSION = uuid.uuid4().hex[:12]   # the default session: one per process (a CLI run)

_META = sa.MetaData()
_TABLE = sa.Table(
    'predictions', _META,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('ts', sa.Double, nullable=False),
    sa.Column('model', sa.Text, nullable=False),
    sa.Column('version', sa.Text, nullable=False),
    sa.Column('task', sa.Text, nullable=False),
    sa.Column('source', sa.Text, nullable=False),
    sa.Column('session', sa.Text, nullable=False),
    sa.Column('inputs', sa.Text, nullable=False),
    sa.Column('prediction', sa.Text),
    sa.Column('probabilities', sa.Text),
    sa.Column('latency_ms', sa.Double),
    sa.Column('error', sa.Text),
    sa.Index('predictions_model_ts', 'model', 'ts'),
    sqlite_autoincrement=True,
)
_FEEDBACK = sa.Table(
    'feedback', _META,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('prediction_id', sa.Integer, nullable=False),
    sa.Column('ts', sa.Double, nullable=False),
    sa.Column('model', sa.Text, nullable=False),
    sa.Column('truth', sa.Text, nullable=False),
    sa.Column('source', sa.Text, nullable=False),
    sa.Column('session', sa.Text, nullable=False),
    sa.Index('feedback_model_prediction', 'model', 'prediction_id'),
    sqlite_autoincrement=True,
)
_SHADOW = sa.Table(
    'shadow', _META,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('prediction_id', sa.Integer, nullable=False),
    sa.Column('ts', sa.Double, nullable=False),
    sa.Column('model', sa.Text, nullable=False),
    sa.Column('version', sa.Text, nullable=False),
    sa.Column('prediction', sa.Text),
    sa.Column('probabilities', sa.Text),
    sa.Column('error', sa.Text),
    sa.Index('shadow_model_version', 'model', 'version'),
    sqlite_autoincrement=True,
)
_COLS = [c.name for c in _TABLE.columns]
_ENGINES: dict[str, sa.Engine] = {}


def log_url(target) -> sa.URL:
    "The SQLAlchemy URL of a log given as a URL or a file path (SQLite)."
    if isinstance(target, str) and '://' in target: return sa.make_url(target)
    return sa.URL.create('sqlite', database=str(Path(target).expanduser().resolve()))


def _sqlite_pragmas(con, _record):
    con.execute('PRAGMA busy_timeout=30000')
    con.execute('PRAGMA journal_mode=WAL')
    # in WAL mode a commit survives a crash or kill of the process without an fsync each time
    # (only a power cut can lose the last commits): a prediction is not held up by the disk
    con.execute('PRAGMA synchronous=NORMAL')


def _engine(url: sa.URL) -> sa.Engine:
    "One engine per database and process (engines hold a connection pool)."
    key = url.render_as_string(hide_password=False)
    if key not in _ENGINES:
        if url.get_backend_name() == 'sqlite':
            eng = sa.create_engine(url, connect_args={'timeout': 30, 'check_same_thread': False}, pool_size=4,
                                   max_overflow=8)     # connections kept: a prediction does not wait to open one
            sa.event.listen(eng, 'connect', _sqlite_pragmas)
        else:
            args = {'connect_timeout': 5} if url.get_backend_name() == 'postgresql' else {}
            eng = sa.create_engine(url, connect_args=args, pool_pre_ping=True, pool_size=2, max_overflow=2)
        _ENGINES[key] = eng
    return _ENGINES[key]


def _clean(v):
    "JSON-safe scalars: NaN/inf become None, numpy scalars plain Python."
    if hasattr(v, 'item') and not isinstance(v, (list, dict, str, bytes)): v = v.item()
    if isinstance(v, float) and not math.isfinite(v): return None
    return v


def _as_text(v):
    "An answer as the log keeps it: a class as it is, a number as the shortest text that reads back the same."
    return None if v is None else v if isinstance(v, str) else repr(float(v))


class PredictionLog:
    "Append-only log of predictions in SQLite or any SQLAlchemy database; safe for many processes at once."

    def __init__(self, target, source: str = 'app', session: str = SESSION):
        self.url = log_url(target)
        self.source, self.session, self.problem, self._ready = source, session, None, False

    @property
    def path(self) -> Path | None:
        "The SQLite file (also of a `file:…?mode=ro&uri=true` address), or None for a database server."
        if self.url.get_backend_name() != 'sqlite': return None
        db = self.url.database or ''
        return Path(db[len('file:'):].split('?')[0] if db.startswith('file:') else db)

    @property
    def where(self) -> str:
        "Where the log is, for messages (no password)."
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    def _exists(self) -> bool:
        "False for a SQLite file not yet written (reading never creates it)."
        return self.path is None or self.path.exists()

    def _engine(self) -> sa.Engine:
        eng = _engine(self.url)
        if not self._ready:
            if self.path: self.path.parent.mkdir(parents=True, exist_ok=True)
            for attempt in range(8):
                try:
                    _META.create_all(eng)        # the tables and indexes it does not find
                    break
                except sa.exc.DBAPIError:        # another process created one of them at the same moment
                    if attempt == 7: raise
                    time.sleep(0.05 * (attempt + 1))
            self._ready = True
        return eng

    def record(self, model: str, version: str, task: str, entries: list[dict], session: str | None = None,
               source: str | None = None, ids: bool = True) -> list[int] | bool | None:
        """Append entries {inputs, prediction, probabilities, latency_ms, error}; their ids, in order
        (what feedback refers to), or None if it failed. `ids=False` (rows of a scored file, which
        nobody labels one by one) skips collecting them: True, or None if it failed.

        `session` and `source` default to the log's own. A failure is reported once per log object
        and never raised.
        """
        if not entries: return [] if ids else True
        now = time.time()
        rows = [dict(ts=now, model=model or '?', version=version or '?', task=task, source=source or self.source,
                     session=session or self.session,
                     inputs=json.dumps({k: _clean(v) for k, v in (e.get('inputs') or {}).items()}, default=str),
                     prediction=_as_text(e.get('prediction')),
                     probabilities=json.dumps({k: round(float(p), 6) for k, p in e['probabilities'].items()})
                     if e.get('probabilities') else None,
                     latency_ms=e.get('latency_ms'), error=e.get('error')) for e in entries]
        try:
            with self._engine().begin() as con:
                if not ids:
                    con.execute(_TABLE.insert(), rows)
                    return True
                got = con.execute(_TABLE.insert().returning(_TABLE.c.id, sort_by_parameter_order=True), rows)
                return [r[0] for r in got]
        except Exception as e:  # noqa: BLE001 - logging must never break a prediction
            if self.problem is None:
                self.problem = f'predictions are not being logged to {self.where}: {_short(e)}'
                warnings.warn(self.problem, RuntimeWarning, stacklevel=2)
            return None

    def record_shadow(self, model: str, version: str, prediction_ids: list[int], entries: list[dict]) -> bool:
        "Log a shadow version's answers {prediction, probabilities, error} beside the answers shown (their ids)."
        now = time.time()
        rows = [dict(prediction_id=int(i), ts=now, model=model, version=version, prediction=_as_text(e.get('prediction')),
                     probabilities=json.dumps({k: round(float(p), 6) for k, p in e['probabilities'].items()})
                     if e.get('probabilities') else None, error=e.get('error'))
                for i, e in zip(prediction_ids, entries) if i is not None]
        if not rows: return True
        try:
            with self._engine().begin() as con:
                con.execute(_SHADOW.insert(), rows)
            return True
        except Exception as e:  # noqa: BLE001 - logging must never break a prediction
            if self.problem is None:
                self.problem = f'shadow answers are not being logged to {self.where}: {_short(e)}'
                warnings.warn(self.problem, RuntimeWarning, stacklevel=2)
            return False

    def shadow_pairs(self, model: str, version: str | None = None, since: float | None = None):
        """Answers shown beside a shadow version's answers to the same input, as a DataFrame: id, ts,
        version and prediction (shown), shadow_version, shadow_prediction, truth (its latest label or None).
        Answers either side could not give are left out."""
        import pandas as pd
        cols = ['id', 'ts', 'version', 'prediction', 'shadow_version', 'shadow_prediction', 'truth']
        if not self._exists(): return pd.DataFrame(columns=cols)
        t, w, f = _TABLE.c, _SHADOW.c, _FEEDBACK.c
        latest = (sa.select(f.prediction_id, sa.func.max(f.id).label('fid')).where(f.model == model)
                  .group_by(f.prediction_id).subquery())
        q = (sa.select(t.id, t.ts, t.version, t.prediction, w.version, w.prediction, f.truth)
             .join(_SHADOW, w.prediction_id == t.id)
             .outerjoin(latest, latest.c.prediction_id == t.id).outerjoin(_FEEDBACK, f.id == latest.c.fid)
             .where(t.model == model, w.model == model, t.error.is_(None), w.error.is_(None)))
        if version: q = q.where(w.version == version)
        if since is not None: q = q.where(t.ts >= since)
        with self._engine().connect() as con:
            return pd.DataFrame(con.execute(q.order_by(t.id)).all(), columns=cols)

    # ---- feedback ---------------------------------------------------------------------------------
    def add_feedback(self, model: str, labels: list[tuple[int, str]], session: str | None = None,
                     source: str | None = None, own_session: str | None = None) -> list[str | None]:
        """Store `(prediction id, true class)` pairs for predictions of `model`: per pair None, or why it
        was refused (no such prediction of this model; with `own_session`, one of another session)."""
        if not labels: return []
        t = _TABLE.c
        ids = sorted({int(i) for i, _ in labels})
        with self._engine().connect() as con:
            found = dict(con.execute(sa.select(t.id, t.session).where(t.model == model, t.id.in_(ids),
                                                                       t.error.is_(None))).all())
        out, rows, now = [], [], time.time()
        for i, truth in labels:
            if int(i) not in found: out.append(f'no answer {i} of {model} in the log'); continue
            if own_session is not None and found[int(i)] != own_session:
                out.append(f'answer {i} was not given in this session'); continue
            out.append(None)
            rows.append(dict(prediction_id=int(i), ts=now, model=model, truth=str(truth),
                             source=source or self.source, session=session or self.session))
        if rows:
            try:
                with self._engine().begin() as con:
                    con.execute(_FEEDBACK.insert(), rows)
            except sa.exc.SQLAlchemyError as e:
                raise ModelError(f'the labels could not be stored: the prediction log cannot be written '
                                 f'({_short(e)}).') from None
        return out

    def labelled(self, model: str, version: str | None = None, since: float | None = None,
                 until: float | None = None):
        """The labelled predictions of `model` (of `version` if given) as a DataFrame: id, ts (of the
        prediction), version, source, inputs, prediction, truth (its latest label), labelled_ts."""
        import pandas as pd
        cols = ['id', 'ts', 'version', 'source', 'inputs', 'prediction', 'truth', 'labelled_ts']
        if not self._exists(): return pd.DataFrame(columns=cols)
        t, f = _TABLE.c, _FEEDBACK.c
        q = (sa.select(t.id, t.ts, t.version, t.source, t.inputs, t.prediction, f.truth, f.ts, f.id)
             .join(_FEEDBACK, f.prediction_id == t.id).where(t.model == model, f.model == model))
        if version: q = q.where(t.version == version)
        if since is not None: q = q.where(t.ts >= since)
        if until is not None: q = q.where(t.ts < until)
        with self._engine().connect() as con:
            df = pd.DataFrame(con.execute(q.order_by(f.id)).all(), columns=cols + ['fid'])
        df = df.drop_duplicates('id', keep='last').sort_values('id').drop(columns='fid').reset_index(drop=True)
        df['inputs'] = df['inputs'].map(json.loads)
        return df

    def _window(self, q, model, since, until, batch):
        t = _TABLE.c
        if model: q = q.where(t.model == model)
        if since is not None: q = q.where(t.ts >= since)
        if until is not None: q = q.where(t.ts < until)
        if batch is not None: q = q.where(t.source.like('%:batch') if batch else t.source.notlike('%:batch'))
        return q

    def read(self, model: str | None = None, since: float | None = None, until: float | None = None,
             limit: int | None = None, batch: bool | None = None):
        """Logged predictions as a DataFrame (newest last); `inputs` and `probabilities` parsed. `limit`: the
        newest that many; `batch`: only rows of scored files (True) or only the others (False)."""
        import pandas as pd
        if not self._exists(): return pd.DataFrame(columns=_COLS)
        t = _TABLE.c
        q = self._window(sa.select(_TABLE), model, since, until, batch)
        q = q.order_by(t.id.desc()).limit(limit) if limit else q.order_by(t.id)
        with self._engine().connect() as con:
            df = pd.DataFrame(con.execute(q).all(), columns=_COLS)
        if limit: df = df.iloc[::-1].reset_index(drop=True)
        df['inputs'] = df['inputs'].map(json.loads)
        df['probabilities'] = df['probabilities'].map(lambda s: json.loads(s) if s else None)
        return df

    def prune(self, before: float | None) -> int:
        "Delete the predictions logged before the Unix time `before` (None: nothing); how many were deleted."
        if before is None or not self._exists(): return 0
        with self._engine().begin() as con:
            old = sa.select(_TABLE.c.id).where(_TABLE.c.ts < before)
            con.execute(_FEEDBACK.delete().where(_FEEDBACK.c.prediction_id.in_(old)))
            con.execute(_SHADOW.delete().where(_SHADOW.c.prediction_id.in_(old)))
            return con.execute(_TABLE.delete().where(_TABLE.c.ts < before)).rowcount

    def count(self, model: str | None = None, since: float | None = None, until: float | None = None,
              batch: bool | None = None) -> int:
        "How many predictions are logged (of `model`, in the window, of scored files or not: as `read`)."
        if not self._exists(): return 0
        q = self._window(sa.select(sa.func.count()).select_from(_TABLE), model, since, until, batch)
        with self._engine().connect() as con:
            return con.execute(q).scalar_one()


def _short(e: Exception) -> str:
    "The driver's own message, without SQLAlchemy's statement dump and help link."
    return str(getattr(e, 'orig', None) or e).strip().splitlines()[0]

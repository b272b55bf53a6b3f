"""`LocalModels`: the predictor interface in this process (torch, fastai and the store).

Every prediction is logged here, per call, with the caller's session id and source; batch
scoring (a CSV) is logged with the source `<source>:batch` so drift can tell it from form answers.
When the store has a shadow version for a model, answers of its active version (forms, API
records, images; not scored CSV files) are also given by the shadow and logged beside them.
"""
from __future__ import annotations

import time
import uuid

from predictors.core.helpers import parse_since, plain_json
from predictors.core.imaging import ImageLimits
from predictors.core.results import Explanation, Prediction, input_form, log_entries
from predictors.core.settings import Settings
from predictors.core.store import ModelError, ModelStore
from predictors.core.written import Continuation
from predictors.kinds import kind
from predictors.monitoring.compare import shadow_report
from predictors.monitoring.drift import LOGGED_INPUTS, report_from_log
from predictors.monitoring.performance import performance_report
from predictors.monitoring.report import drift_data
from predictors.service.loading import LOADED, Loaded, preload
from predictors.service.rows import model_rows
from predictors.service.scored import ScoredCsv
from predictors.monitoring.drift import coarsen

__all__ = ['LocalModels']


class LocalModels:
    """The models of a store, in this process; predictions logged to `log` (None: not logged); `settings`: the
    process's, passed down from its entry point (default: `Settings()`'s defaults).

    `batch_images=True` (the model server) makes concurrent `predict` calls share forward passes.
    """
    where = 'in-process'

    def __init__(self, store: ModelStore, log=None, session: str | None = None, source: str = 'app',
                 batch_images: bool = False, log_inputs: str | None = None, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.log_inputs = log_inputs or self.settings.log_inputs
        if self.log_inputs not in LOGGED_INPUTS:
            raise ValueError(f'FASTAI_APPS_LOG_INPUTS must be one of {", ".join(LOGGED_INPUTS)}, not {self.log_inputs!r}')
        self.store, self.log = store, log
        self.session, self.source = session or uuid.uuid4().hex[:12], source
        self.batch_images = batch_images

    def loaded(self, name: str, version: str | None = None, form: str | None = None) -> Loaded:
        "The loaded version (cached per process: `LOADED`); `form` ('rows' or 'files') refuses a model that reads the other."
        if form: kind(self.store.card(name, version).get('task')).accepts(name, form)
        return LOADED.get(self.store, name, version)

    def predictor(self, name: str, version: str | None = None, form: str | None = None):
        "The loaded predictor; `form` refuses a model that reads the other form of input."
        return self.loaded(name, version, form).pred

    def models(self, what=None): return model_rows(self.store, what)

    def card(self, name, version=None): return self.store.card(name, version)

    def limits(self): return ImageLimits.of(self.settings)

    def check(self, name, version=None): self.predictor(name, version)

    def preload(self, what=None):
        preload(what, self.store)

    def _record(self, pred, entries: list[dict], batch: bool = False, results=None) -> None:
        """Log `entries`; with `log_inputs='bins'` their inputs as drift's bins only (no raw value is stored).
        `results` (one per entry) get their log ids, for feedback."""
        if self.log is None: return
        if self.log_inputs == 'bins':
            entries = [dict(e, inputs=c) for e, c in zip(entries, coarsen(pred.card, [e.get('inputs') or {} for e in entries]))]
        source = f'{self.source}:batch' if batch else self.source
        ids = self.log.record(pred.name, pred.version, pred.task, entries, session=self.session, source=source,
                              ids=results is not None)
        if results is not None:
            for r, i in zip(results, ids or []): r.id = i

    def _shadow(self, pred, shown: list, answer) -> None:
        """When `pred` is the active version and the store names a shadow version, `answer(shadow
        predictor)` gives its answers to the same inputs, logged beside `shown`. Never fails the call."""
        if self.log is None: return
        try:
            version = self.store.shadow_version(pred.name)
            if version is None or pred.version != self.store.active_version(pred.name): return
            got = answer(self.predictor(pred.name, version))
            self.log.record_shadow(pred.name, version, [r.id for r in shown],
                                   [dict(prediction=g.prediction, probabilities=g.probabilities, error=g.error) for g in got])
        except Exception as e:  # noqa: BLE001 - the shadow never costs a visitor their answer
            import warnings
            warnings.warn(f'the shadow version of {pred.name} could not answer: {type(e).__name__}: {e}', RuntimeWarning)

    def feedback(self, name, labels, any_session: bool = False) -> list[str | None]:
        """As `ModelService.feedback`; `any_session=True` (labels that arrive later, from the CLI or a
        program) may label any answer of the model."""
        if self.log is None: raise ModelError('predictions are not logged here, so there is nothing to label.')
        card = self.card(name)
        k = kind(card.get('task'))
        why = [k.check_truth(card, t) for _, t in labels]
        ok = [(i, k.stored_truth(card, t)) for (i, t), w in zip(labels, why) if w is None]
        stored = iter(self.log.add_feedback(name, ok, session=self.session, source=self.source,
                                            own_session=None if any_session else self.session))
        return [next(stored) if w is None else w for w in why]

    # ---- monitoring (operators) ------------------------------------------------------------
    def _logged(self):
        if self.log is None: raise ModelError('predictions are not logged here, so there is nothing to monitor.')
        return self.log

    def live_accuracy(self, name, since=None) -> dict:
        log, card, t = self._logged(), self.card(name), _since(since)
        labelled = log.labelled(card['name'], card['version'], since=t)
        pairs = log.shadow_pairs(card['name'], since=t)
        report = dict(performance_report(labelled, card), answers=log.count(card['name'], since=t, batch=False))
        return plain_json(dict(report=report, shadow=shadow_report(pairs, card=card) if len(pairs) else None))

    def drift(self, name, since=None, traffic='single') -> dict:
        log, card = self._logged(), self.card(name)
        report, df = report_from_log(log, card, since=_since(since), traffic=traffic)
        return dict(drift_data(report, df), rows=int(len(df)), left_out=report['traffic_left_out'], log=log.where,
                    problem=log.problem)

    # ---- answers --------------------------------------------------------------------------
    def predict(self, name, inputs, version=None) -> list:
        if not inputs: return []
        entry = self.loaded(name, version, input_form(inputs))
        pred = entry.pred
        answers, entries = pred.answer(inputs, entry.queue() if self.batch_images else None)
        self._record(pred, entries, results=answers)
        self._shadow(pred, answers, lambda shadow: shadow.answer(inputs)[0])
        return answers

    def explain(self, name, inputs, version=None) -> list:
        if not inputs: return []
        return self.loaded(name, version, input_form(inputs)).explainer().explain(inputs)

    # ---- what some kinds answer besides (`ModelKind.verbs`) -----------------------------------
    def _verb(self, name, version, verb: str):
        "The loaded predictor of a model whose kind takes `verb`, else `ModelError` saying what the model is."
        entry = self.loaded(name, version)
        k = kind(entry.pred.card.get('task') or entry.pred.task)
        if verb not in k.verbs:
            raise ModelError(f'{name} is {k.noun or "a " + k.task + " model"}: it does not {verb.replace("_", " ")}.')
        return entry.pred

    def recommend(self, name, user=None, ratings=None, top: int = 10, exclude_seen: bool = True, where=None, exclude=(),
                  version=None):
        pred = self._verb(name, version, 'recommend')
        t0 = time.perf_counter()
        got = pred.recommend(user=user, ratings=ratings, top=top, exclude_seen=exclude_seen, where=where, exclude=exclude)
        self._record_lists(pred, [got], time.perf_counter() - t0)
        return got

    def recommend_each(self, name, users: list, top: int = 10, exclude_seen: bool = True, where=None, version=None) -> list:
        """Lists for many people the model knows at once (the CLI's --users, `/v2`): per person a `Recommendations` or
        the `ModelError` saying why not."""
        pred = self._verb(name, version, 'recommend')
        t0 = time.perf_counter()
        got = pred.recommend_each(users, top=top, exclude_seen=exclude_seen, where=where)
        self._record_lists(pred, [g for g in got if not isinstance(g, ModelError)], time.perf_counter() - t0)
        return got

    def _record_lists(self, pred, lists: list, seconds: float) -> None:
        "Log each recommended item as the pair it is (feedback: the person's real rating), giving each its log id."
        items = [(g, r) for g in lists for r in g.items]
        per = seconds * 1000 / max(1, len(items))
        self._record(pred, [dict(inputs={pred.user: g.user, pred.item: r.item, 'known_user': not g.folded_in,
                                         'known_item': True, 'item_ratings': r.ratings}, prediction=r.rating,
                                 probabilities={}, latency_ms=round(per, 3)) for g, r in items],
                     results=[r for _, r in items])

    def similar(self, name, item, top: int = 10, version=None):
        return self._verb(name, version, 'similar').similar(item, top)

    def find_items(self, name, text: str, most: int = 20, version=None):
        return self._verb(name, version, 'find_items').search(text, most)

    def generate(self, name, text, words=None, temperature=None, seed=None, version=None, stop=None, next_k: int = 5):
        pred = self._verb(name, version, 'generate')
        t0 = time.perf_counter()
        for got in pred.write(text, words, temperature, seed, next_k, stop):
            if isinstance(got, Continuation):
                self._record(pred, pred.log_entries([text], [got], time.perf_counter() - t0), results=[got])
            yield got

    def next_words(self, name, text, k: int = 5, version=None):
        return self._verb(name, version, 'next_words').next_of(text, k)

    def distribution(self, name, texts: list, version=None) -> tuple[list, list, list]:
        """A language model's whole next-token distribution after each of `texts`: (probabilities, flat and row-major;
        its vocabulary; errors, '' when answered)."""
        pred = self._verb(name, version, 'next_words')
        probs, errors = [], []
        for t in texts:
            toks, ids, err, _ = pred.prompt(t)
            probs.extend([0.0] * len(pred.vocab) if err else pred.probabilities(ids).tolist())
            errors.append(err or '')
        return probs, pred.vocab, errors

    def generate_frame(self, name, df, words=None, temperature=None, seed=None, version=None):
        "`df` with a continuation per row (its `scored` columns), logged as batch."
        pred = self._verb(name, version, 'generate')
        res = pred.predict_frame(df, words, temperature, seed)
        self._record_frame(pred, df, res)
        return res.scored(df)

    # ---- rows of a table --------------------------------------------------------------------
    def _record_frame(self, pred, df, res, answers=None, slice_rows: int = 5000) -> None:
        """Log the predictions `res` of a DataFrame's rows as batch, `slice_rows` at a time: the log's
        entries (a dict per row) never hold a whole chunk of a large file at once. `answers` (the rows'
        `Prediction`s) get their log ids."""
        cols = [c['name'] for c in pred.inputs]
        per_row = res.seconds / max(1, len(df))
        for s in range(0, len(df), slice_rows):
            rows = pred.logged_inputs(df[cols].iloc[s:s + slice_rows].to_dict('records'), res, s)
            preds = answers[s:s + len(rows)] if answers is not None else [res[i] for i in range(s, s + len(rows))]
            self._record(pred, log_entries(rows, preds, per_row * len(rows)), batch=True,
                         results=preds if answers is not None else None)

    def predict_frame(self, name, df, version=None) -> list[Prediction]:
        "One `Prediction` per row of a DataFrame, logged as batch with its id (the CLI: labelled later by id)."
        pred = self.predictor(name, version, 'rows')
        res = pred.predict_frame(df)
        answers = list(res)
        self._record_frame(pred, df, res, answers)
        return answers

    def scored_csv(self, name, src, version=None, progress=None, chunksize=None) -> 'ScoredCsv':
        "The scored CSV of `src` (a path or bytes) as a stream of bytes; rows logged as batch."
        pred = self.predictor(name, version, 'rows')
        record = None if self.log is None else lambda df, res: self._record_frame(pred, df, res)
        return ScoredCsv(pred, src, progress=progress, record=record, max_columns=self.settings.max_csv_columns,
                         **({'chunksize': chunksize} if chunksize else {}))

    def score_csv(self, name, data, out, version=None, progress=None) -> list[str]:
        scored = self.scored_csv(name, data, version, progress)
        for block in scored: out.write(block)
        return scored.unused

    def explain_frame(self, name, df, version=None) -> list[Explanation]:
        "Explanations of a DataFrame's rows (the CLI)."
        return self.loaded(name, version, 'rows').explainer().explain_frame(df)


def _since(text):
    "A window like '24h' or '7d' as a Unix time (None: all time), or `ModelError` saying how to write it."
    try: return parse_since(text)
    except ValueError as e: raise ModelError(str(e)) from None

"""Recommenders (collaborative filtering: fastai's `collab_learner`, `EmbeddingDotBias` or `EmbeddingNN`, or a plain
`Learner` over `CollabDataLoaders` with a dot-product or embedding model of its own): the kind.

A rating is asked of a (user, item) pair, as a row; a person gets a ranked list (`recommend`: one the model knows, or a
new one folded in from their own ratings). Its predictor (`predictor`), what its model is made of (`model`), the
ranking and its judging (`ranking`), the items' titles (`items`), why a rating (`explain`), training (`train`, `cli`:
`train-collab`, and the `recommend` and `items` verbs) and comparing versions (`compare`) are the modules beside this.
"""
from __future__ import annotations

import math

from predictors.core.helpers import input_fields
from predictors.core.store import ModelError
from predictors.kinds.answers import NUMBER
from predictors.kinds.base import ModelKind
from predictors.kinds.collab.cli import COMMANDS, TRAINING
from predictors.kinds.inputs import RECORDS

__all__ = ['CollabKind']

COLLAB_MODELS = {'EmbeddingDotBias', 'EmbeddingNN'}


class CollabKind(ModelKind):
    "Recommenders: who would like what, for people the model knows and new ones."
    task, noun, input, answer, view = 'collab', 'a recommender (collaborative filtering)', RECORDS, NUMBER, 'recommender_app'
    priority = 30                # a collab learner's data is a `TabularPandas`: asked before the table kinds
    training, commands = TRAINING, COMMANDS
    verbs = frozenset({'recommend', 'similar', 'find_items'})
    drift_refused = True         # a person or item it does not know is refused, and their share is what drift watches

    def detect(self, learn):
        ds = getattr(getattr(learn, 'dls', None), 'train_ds', None)
        if not (type(ds).__name__ == 'TabularCollab' or type(getattr(learn, 'model', None)).__name__ in COLLAB_MODELS):
            return False
        if len(list(getattr(ds, 'cat_names', []))) != 2 or len(list(getattr(ds, 'y_names', []))) != 1:
            raise ModelError('the learner is a recommender but not of one user, one item and one rating: the apps serve '
                             'collab learners of (user, item) → rating.')
        return True

    def classes(self, learn):
        return []

    def describe(self, learn):
        ds = learn.dls.train_ds
        return (f'recommender of {ds.cat_names[1]} for {ds.cat_names[0]} ({type(learn.model).__name__}: '
                f'{len(learn.dls.classes[ds.cat_names[0]]) - 1:,} users, {len(learn.dls.classes[ds.cat_names[1]]) - 1:,} items)')

    def summary(self, card):
        from predictors.kinds.collab.model import KINDS_OF_MODEL
        return f', {KINDS_OF_MODEL.get((card.get("collab") or {}).get("model"), "")}'

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.collab.predictor import CollabPredictor
        return CollabPredictor(learn, card, limits, files)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.collab.train import codes, collab_card
        card = collab_card(learn, df, codes(learn)[0])
        card['metrics'] = {} if df is None else dict(note='the given ratings were not held out: no held-out figures')
        return card

    def data_files(self, learn, df, folder):
        if df is None: return {}
        from predictors.kinds.collab.train import codes, ratings_file
        ratings_file(learn, df, codes(learn)[0], folder / 'ratings.npz')
        return {'ratings.npz': folder / 'ratings.npz'}

    def rebuild(self, old):
        from predictors.kinds.collab.legacy import is_old_collab, rebuild_collab
        return rebuild_collab(old) if is_old_collab(old, COLLAB_MODELS) else None

    def smoke(self, pred):
        u, i = pred.user_ids[1], pred.item_ids[int(pred.counts.argmax()) or 1]
        p = pred.predict_one({pred.user: u, pred.item: i})
        if not p.ok: raise ModelError(p.error)
        if not math.isfinite(p.prediction): raise ModelError(f'the model answers {p.prediction} for {u} and {i}')
        top = pred.recommend(user=u, top=1).items
        return (f'answers {p.prediction:.3g} for {pred.user} {u} and {pred.item} {i}; recommends '
                f'{top[0].title if top else "nothing"} to {u}')

    def explainer(self, pred):
        from predictors.kinds.collab.explain import CollabExplainer
        return CollabExplainer(pred)

    def explained_fields(self, card):
        "The item's own rating, the person's, and how their factors match (`TASTE`)."
        from predictors.kinds.collab.explain import TASTE
        role = {c.get('role'): c['name'] for c in input_fields(card)}
        return [role['item'], role['user'], TASTE]

    def drift_references(self, card):
        "Whether the users and items asked about are known, and how many ratings the items had (their popularity)."
        return {c: (r, r['kind']) for c, r in ((card.get('reference') or {}).get('columns') or {}).items()}

    def prediction_reference(self, card):
        ref = (card.get('reference') or {}).get('valid_predictions')
        return (ref, 'continuous') if ref else None

    def verb_tensors(self, card, verb):
        """`recommend` over /v2: the people (`[n]`, BYTES, the user column's name) in; each one's list out, `[n, top]`
        (`item`, `title`, `rating`, `score`; a list shorter than `top` padded with '' and null) and `error` (`[n]`)."""
        if verb != 'recommend': return super().verb_tensors(card, verb)
        user = (card.get('collab') or {}).get('user', 'user')
        many = lambda name, datatype: dict(name=name, datatype=datatype, shape=[-1, -1])
        return dict(inputs=[dict(name=user, datatype='BYTES', shape=[-1])],
                    outputs=[many('item', 'BYTES'), many('title', 'BYTES'), many('rating', 'FP64'), many('score', 'FP64'),
                             dict(name='error', datatype='BYTES', shape=[-1])])

    def infer_verb(self, models, card, verb, columns, parameters):
        "Each person's top `parameters.top` (10; 1 to 500), the items they rated left out unless `exclude_seen` is false."
        top, seen = parameters.get('top', 10), parameters.get('exclude_seen', True)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 500:
            raise ModelError(f'parameters.top is a whole number from 1 to 500, not {top!r}.')
        if not isinstance(seen, bool): raise ModelError(f'parameters.exclude_seen is true or false, not {seen!r}.')
        people = [c.decode() if isinstance(c, bytes) else c for c in columns[card['collab']['user']]]
        got = models.recommend_each(card['name'], people, top=top, exclude_seen=seen, version=card['version'])
        lists = [[] if isinstance(g, ModelError) else g.items for g in got]
        errors = [str(g) if isinstance(g, ModelError) else '' for g in got]
        pad = lambda xs, empty: [*xs, *[empty] * (top - len(xs))]
        tensor = lambda name, datatype, get, empty: dict(name=name, datatype=datatype, shape=[len(people), top],
                                                         data=[v for r in lists for v in pad([get(i) for i in r], empty)])
        return [tensor('item', 'BYTES', lambda i: i.item, ''), tensor('title', 'BYTES', lambda i: i.title, ''),
                tensor('rating', 'FP64', lambda i: i.rating, None), tensor('score', 'FP64', lambda i: i.score, None),
                dict(name='error', datatype='BYTES', shape=[len(people)], data=errors)]

    def example_calls(self, card, url):
        "A list for the person the card names as typical (`/v1/.../recommend`), then a rating of a pair, as rows are asked."
        from predictors.kinds.inputs import AUTH, example_record, shell_quoted
        user = example_record(card)[card['collab']['user']]
        return [('curl (a list)', f"curl -s {url}/v1/models/{card['name']}/recommend -H {AUTH} \\\n  -H 'Content-Type: "
                                  f"application/json' -d '{shell_quoted({'user': user, 'top': 5})}'"),
                *self.input.example_calls(card, url)]

    def check_truth(self, card, truth):
        lo, hi = (card.get('collab') or {}).get('scale') or (-math.inf, math.inf)
        try:
            x = float(str(truth).strip())
        except ValueError:
            x = math.nan
        if math.isfinite(x) and lo <= x <= hi: return None
        return f'{truth!r} is not a rating from {lo:g} to {hi:g}'

    def performance(self, labelled, card, settings):
        from predictors.kinds.numbers import error_performance
        return error_performance(labelled, card, settings)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        from predictors.kinds.collab.compare import compare_rankings
        return compare_rankings(pred_a, pred_b, df, alpha)

    def shadow(self, pairs, alpha=0.05):
        from predictors.kinds.numbers import shadow_numbers
        return shadow_numbers(pairs, alpha)

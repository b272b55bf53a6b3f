"""The kinds of model the apps serve, in one registry: how to recognise a learner of the kind, its
predictor, what its card holds when it is imported, a smoke test, and the references its drift
is measured against. A new kind is one more class here, not a branch in every module.
"""
from __future__ import annotations

from .store import ModelError

__all__ = ['ModelKind', 'TabularKind', 'ImageKind', 'KINDS', 'kind', 'detect_kind']


class ModelKind:
    "One kind of model (its `task` in the card)."
    task: str = ''

    def detect(self, learn) -> bool:
        "Whether `learn` is a learner of this kind (raise `ModelError` for a near miss, with the reason)."
        raise NotImplementedError

    def predictor(self, learn, card: dict):
        raise NotImplementedError

    def card_fields(self, learn, df=None) -> dict:
        "What an imported learner's card holds for this kind (target, schema, reference, metrics); `df`: its training data."
        raise NotImplementedError

    def smoke(self, pred) -> str:
        "One prediction from nothing but the model; a short text saying what it answered."
        raise NotImplementedError

    def drift_references(self, card: dict) -> dict:
        "{input column: (reference statistics, 'continuous' or 'categorical')} that drift compares the inputs with."
        raise NotImplementedError


def _has_vocab(learn) -> bool:
    try:
        return len(learn.dls.vocab) > 1
    except (AttributeError, TypeError):
        return False


class TabularKind(ModelKind):
    task = 'tabular'

    def detect(self, learn):
        ds = getattr(learn.dls, 'train_ds', None)
        if not (hasattr(ds, 'procs') and hasattr(ds, 'cat_names')): return False
        if not _has_vocab(learn): raise ModelError('the learner predicts a number (regression); the apps serve classifiers.')
        return True

    def predictor(self, learn, card):
        from .tabular import TabularPredictor
        return TabularPredictor(learn, card)

    def card_fields(self, learn, df=None):
        from .schema import reference_stats, tabular_schema
        schema = tabular_schema(learn, df)
        out = dict(target=schema['target'], schema=schema, metrics={},
                   reference=reference_stats(df, schema) if df is not None else None)
        if df is not None and schema['target'] in df.columns:
            res = self.predictor(learn, dict(schema=schema)).predict_frame(df)
            ok = [i for i in range(len(res)) if i not in res.errors]
            classes = [str(c) for c in learn.dls.vocab]
            pred = [classes[int(res.probs[i].argmax())] for i in ok]
            truth = df[schema['target']].astype(str).to_numpy()[ok]
            out['metrics'] = dict(accuracy_on_csv=round(float((truth == pred).mean()), 5), csv_rows=len(ok),
                                  note='measured on the given CSV, which may include training rows')
        return out

    def smoke(self, pred):
        p = pred.predict_one({c['name']: c.get('default') for c in pred.inputs})
        if not p.ok: raise ModelError(p.error)
        total = sum(p.probabilities.values())
        if abs(total - 1) > 1e-3: raise ModelError(f'class probabilities sum to {total:.4f}, not 1')
        return f'answers {p.prediction!r} ({p.probability:.1%}) for the default input'

    def drift_references(self, card):
        return {c: (r, r['kind']) for c, r in ((card.get('reference') or {}).get('columns') or {}).items()}


class ImageKind(ModelKind):
    task = 'image'
    STATS = ('brightness', 'contrast', 'width', 'height', 'aspect')   # logged per image, never its pixels

    def detect(self, learn):
        ds = getattr(learn.dls, 'train_ds', None)
        pipelines = list(getattr(ds, 'tfms', None) or [])
        x_pipeline = next(iter(pipelines), None)   # the input's type transforms
        if not (x_pipeline is not None and hasattr(learn.dls, 'vocab')
                and any(getattr(t, 'name', '') == 'PILBase.create' for t in x_pipeline.fs)): return False
        y_tfms = {type(t).__name__ for p in pipelines[1:] for t in getattr(p, 'fs', [])}
        if y_tfms & {'MultiCategorize', 'EncodedMultiCategorize'}:
            raise ModelError('the learner is a multi-label image classifier (several classes per image); the '
                             'image app serves single-label classifiers.')
        return True

    def predictor(self, learn, card):
        from .image import ImagePredictor
        return ImagePredictor(learn, card)

    def card_fields(self, learn, df=None):
        from .schema import image_schema
        return dict(target='label', schema=image_schema(learn), reference=None, metrics={})

    def smoke(self, pred):
        import io
        from PIL import Image, ImageDraw
        im = Image.new('RGB', (96, 96), 'white')
        ImageDraw.Draw(im).ellipse((16, 16, 80, 80), fill=(220, 40, 40))
        buf = io.BytesIO(); im.save(buf, 'PNG')
        r = pred.predict_files([('smoke.png', buf.getvalue())])[0]
        if not r.ok: raise ModelError(r.error)
        return f'answers {r.prediction!r} ({r.probabilities[r.prediction]:.1%}) for a test picture'

    def drift_references(self, card):
        from .drift import stat_reference
        stats = (card.get('reference') or {}).get('image_stats') or {}
        return {c: (stat_reference(stats[c]), 'continuous') for c in self.STATS if c in stats}


KINDS: dict[str, ModelKind] = {k.task: k for k in (TabularKind(), ImageKind())}


def kind(task: str | None) -> ModelKind:
    "The kind of a card's `task`."
    if task not in KINDS: raise ModelError(f'unknown task {task!r} in the model card.')
    return KINDS[task]


def detect_kind(learn) -> ModelKind:
    "The kind of a learner, or `ModelError` saying why the apps cannot serve it."
    for k in KINDS.values():
        if k.detect(learn): return k
    raise ModelError('the learner is neither a tabular nor an image classifier, which are the two kinds '
                     'the apps serve.')

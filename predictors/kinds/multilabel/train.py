"""Training a multi-label image classifier reproducibly and registering it in the store.

`train_multilabel` reads pictures and their labels from a CSV (fastai's `fname,labels` layout, labels separated by
`delim`, empty for a picture of none), trains a small xresnet from scratch with fastai's `MultiCategoryBlock` and
`BCEWithLogitsLossFlat`, chooses each label's threshold on validation pictures (the best F1 of that label) and
writes the thresholds, the test pictures' F1, exact-match share and per-label precision and recall on the card.
"""
from __future__ import annotations

import csv
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from predictors.core.store import ModelError, ModelStore
from predictors.kinds.training import library_versions, seed_everything

__all__ = ['train_multilabel', 'read_label_csv', 'choose_thresholds', 'label_scores']


def read_label_csv(path, delim: str = ';') -> list[tuple[Path, list[str]]]:
    "`(picture path, labels)` from a CSV with `fname` and `labels` columns (paths relative to the CSV's folder)."
    path = Path(path)
    if not path.is_file(): raise ModelError(f'{path} is not a file.')
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    if not rows or not {'fname', 'labels'} <= set(rows[0]):
        raise ModelError(f'{path}: needs the columns fname and labels (labels separated by {delim!r}, empty for none).')
    out = [(path.parent / r['fname'], [x.strip() for x in (r['labels'] or '').split(delim) if x.strip()]) for r in rows]
    missing = [str(p) for p, _ in out if not p.is_file()]
    if missing: raise ModelError(f'{path}: {len(missing)} picture(s) not found, the first {missing[0]}.')
    return out


def choose_thresholds(probs: np.ndarray, truth: np.ndarray, default: float = 0.5) -> np.ndarray:
    """Per label (column), the threshold on its probability with the best F1 on the validation pictures: the middle of
    the equally good ones (the widest margin either way); `default` for a label no validation picture has."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    out = np.full(probs.shape[1], default)
    for j in range(probs.shape[1]):
        if not truth[:, j].any(): continue
        said = probs[:, j][None, :] >= grid[:, None]
        tp = (said & truth[:, j]).sum(1)
        f1 = 2 * tp / np.maximum(1, said.sum(1) + truth[:, j].sum())
        best = grid[np.isclose(f1, f1.max())]
        out[j] = float(best[len(best) // 2])
    return out


def label_scores(said: np.ndarray, truth: np.ndarray, classes: list) -> dict:
    """Micro and macro F1, the share of pictures whose whole label set is right, and per label: support, predicted
    count, precision and recall (`per_label`; boolean matrices, pictures × labels)."""
    from predictors.kinds.multilabel.performance import per_label
    tp, fp, fn = (said & truth).sum(0), (said & ~truth).sum(0), (~said & truth).sum(0)
    f1 = lambda t, p, n: float(2 * t / max(1, 2 * t + p + n))
    return dict(f1=round(f1(tp.sum(), fp.sum(), fn.sum()), 5),
                macro_f1=round(float(np.mean([f1(*x) for x in zip(tp, fp, fn)])), 5),
                exact_match=round(float((said == truth).all(1).mean()), 5) if len(said) else None,
                per_label=per_label(said, truth, classes))


class _Item:
    "One picture and its labels (fastai maps transforms over tuples, so items are not tuples)."
    __slots__ = ('path', 'labels', 'is_valid')

    def __init__(self, path, labels, is_valid): self.path, self.labels, self.is_valid = path, labels, is_valid


def _x(it: _Item): return it.path
def _y(it: _Item): return it.labels
def _valid(it: _Item): return it.is_valid


def train_multilabel(csv_path, name: str, store: ModelStore | None = None, valid_csv=None, test_csv=None,
                     size: int = 96, epochs: int = 12, lr: float = 3e-3, widen: float = 0.5, bs: int = 64,
                     seed: int = 42, delim: str = ';', about: str | None = None, activate: bool = True,
                     log=print) -> str:
    """Train a multi-label image classifier from scratch on the pictures of `csv_path` and register it as a new
    version of `name`. `valid_csv`: the pictures each label's threshold is chosen on (default: a fifth of
    `csv_path`, held out); `test_csv`: the pictures the card reports (default: the validation pictures)."""
    from fastai.vision.all import (BCEWithLogitsLossFlat, DataBlock, FuncSplitter, ImageBlock, Learner,
                                   MultiCategoryBlock, Resize, accuracy_multi, aug_transforms, xresnet18)
    from predictors.kinds.pictures.predictor import image_schema
    store = store or ModelStore()
    train = read_label_csv(csv_path, delim)
    if valid_csv: valid = read_label_csv(valid_csv, delim)
    else:
        random.Random(seed).shuffle(train)
        cut = len(train) // 5
        train, valid = train[cut:], train[:cut]
    test = read_label_csv(test_csv, delim) if test_csv else valid
    classes = sorted({x for _, ls in train for x in ls})
    unknown = sorted({x for _, ls in valid + test for x in ls} - set(classes))
    if len(classes) < 2: raise ModelError(f'{csv_path}: needs at least two labels (found {classes}).')
    if unknown: raise ModelError(f'the validation or test pictures name labels the training ones do not: {", ".join(unknown)}.')
    seed_everything(seed)
    dblock = DataBlock(blocks=(ImageBlock, MultiCategoryBlock(vocab=classes)), get_x=_x, get_y=_y,
                       splitter=FuncSplitter(_valid), item_tfms=Resize(size),
                       batch_tfms=aug_transforms(size=size, flip_vert=True, max_rotate=20, max_zoom=1.2))
    items = [_Item(p, ls, False) for p, ls in train] + [_Item(p, ls, True) for p, ls in valid]
    dls = dblock.dataloaders(items, bs=bs, num_workers=0)
    learn = Learner(dls, xresnet18(n_out=len(classes), widen=widen), loss_func=BCEWithLogitsLossFlat(),
                    metrics=accuracy_multi)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    log(f'{name}: trained in {time.time() - t0:.0f}s on {len(train)} pictures of {len(classes)} labels')
    card = _card(learn, classes, valid, test, log)
    card.update(schema=image_schema(learn), data_source=dict(csv=str(csv_path), pictures=len(train)),
                library=library_versions(), **({'about': about} if about else {}))
    card['metrics'].update(train_images=len(train), epochs=epochs)
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)


def _card(learn, classes, valid, test, log) -> dict:
    "The card's thresholds (chosen on `valid`), its metrics (on `test`) and the training pictures' statistics."
    from PIL import Image
    from predictors.core.imaging import image_stats
    from predictors.kinds.multilabel.predictor import MultiLabelPredictor
    pred = MultiLabelPredictor(learn, {}, batch_size=128)
    probs = lambda its: pred.predict_images([Image.open(p).convert('RGB') for p, _ in its])
    truth = lambda its: np.array([[c in ls for c in classes] for _, ls in its])
    thresholds = choose_thresholds(probs(valid), truth(valid))
    p_test, t_test = probs(test), truth(test)
    scores = label_scores(p_test >= thresholds, t_test, classes)
    none = ~t_test.any(1)
    scores.update(test_images=len(test), none_right=round(float((p_test[none] < thresholds).all(1).mean()), 4)
                  if none.any() else None, none_images=int(none.sum()))
    log(f'F1 {scores["f1"]:.4f} (macro {scores["macro_f1"]:.4f}), every label right on {scores["exact_match"]:.1%} '
        f'of {len(test)} test pictures')
    stats = [image_stats(Image.open(it.path).convert('RGB')) for it in learn.dls.train_ds.items[:1000]]
    return dict(task='multilabel', classes=classes, target='labels', metrics=scores,
                thresholds={c: float(t) for c, t in zip(classes, thresholds)},
                threshold_source=f'chosen per label on {len(valid)} validation pictures: the threshold with the best '
                                 f'F1 of that label (the middle of equally good ones)',
                reference=dict(image_stats={k: [s[k] for s in stats] for k in stats[0]},
                               label_rates={c: round(float(r), 5) for c, r in zip(classes, (p_test >= thresholds).mean(0))}))

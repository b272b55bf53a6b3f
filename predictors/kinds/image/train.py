"""Training an image classifier reproducibly and registering it in the store.

`train_image` trains a small xresnet from scratch with strong augmentation and writes a model card
with the classes, held-out accuracy and reference statistics of the training images. Given pictures of none
of the classes (`negatives`), it also learns to be unsure of such pictures, calibrates its probabilities and
chooses the *Not sure* threshold on held-out data (`uncertainty.py`), all stated on the card.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import numpy as np

from predictors.core.helpers import IMAGE_SUFFIXES
from predictors.core.store import ModelError, ModelStore
from predictors.kinds.image.predictor import ImagePredictor
from predictors.kinds.pictures.predictor import image_schema
from predictors.kinds.training import class_dist, library_versions, seed_everything

__all__ = ['train_image', 'RandomBackground', 'find_image_items']


def find_image_items(folder, valid_style: str | None = None, valid_pct: float = 0.2, seed: int = 42):
    """Items `(path, label, is_valid)` from `folder`: `<class>/<images>`, or `<style>/<class>.<ext>`
    when `valid_style` names the style to hold out.

    In the class layout `valid_pct` of each class is held out at random. In the style layout every
    sub-folder holds one image per class with the class as file name, and the whole
    `valid_style` sub-folder is held out, so validation measures images of a style never seen.
    (The two layouts cannot be told apart from file names alone: `0.png`… can be either.)
    """
    folder = Path(folder)
    if not folder.is_dir(): raise ModelError(f'{folder} is not a folder.')
    subs = sorted(p for p in folder.iterdir() if p.is_dir())
    imgs = {s: sorted(f for f in s.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) for s in subs}
    subs = [s for s in subs if imgs[s]]
    if not subs: raise ModelError(f'{folder} has no sub-folders with images.')
    if valid_style:
        names = [s.name for s in subs]
        if valid_style not in names: raise ModelError(f'no style folder {valid_style!r} (styles: {", ".join(names)}).')
        return [(f, f.stem, s.name == valid_style) for s in subs for f in imgs[s]]
    rng = random.Random(seed)
    items = []
    for s in subs:
        fs = list(imgs[s]); rng.shuffle(fs)
        n_val = max(1, round(len(fs) * valid_pct)) if len(fs) > 1 and valid_pct > 0 else 0
        items += [(f, s.name, i < n_val) for i, f in enumerate(fs)]
    return items


def _open_rgba(path):
    from PIL import Image, ImageOps
    im = Image.open(path)
    if getattr(im, 'n_frames', 1) > 1: im.seek(0)
    im = ImageOps.exif_transpose(im) or im
    return im.convert('RGBA')


try:
    from fastai.vision.augment import RandTransform as _RandTransform
    from fastai.vision.core import PILImage as _PILImage
except ImportError:  # pragma: no cover - fastai is a hard requirement
    _RandTransform, _PILImage = object, object


class RandomBackground(_RandTransform):
    """Training only: paste an RGBA image, randomly scaled and placed, on a random background (with probability
    `ground`; else on white, as it was taken).

    Backgrounds are plain colours, gradients and smooth noise, so the model learns the object
    rather than the white canvas. Validation and inference images are composited on white.
    """
    split_idx, order = 0, 0

    def __init__(self, p=1.0, min_scale=0.55, ground=1.0):
        super().__init__(p=p)
        self.min_scale, self.ground = min_scale, ground

    def encodes(self, x: _PILImage):
        from PIL import Image
        from predictors.core.imaging import to_rgb
        if x.mode != 'RGBA': return x
        if random.random() >= self.ground: return _PILImage(to_rgb(x))
        w, h = x.size
        bg = _random_background(w, h)
        s = random.uniform(self.min_scale, 1.0)
        fg = x.resize((max(1, int(w * s)), max(1, int(h * s))), Image.BILINEAR)
        ox, oy = random.randint(0, w - fg.size[0]), random.randint(0, h - fg.size[1])
        bg.paste(fg, (ox, oy), mask=fg.getchannel('A'))
        return _PILImage(bg)


def _random_background(w, h):
    from PIL import Image, ImageFilter
    kind = random.random()
    if kind < 0.3:
        return Image.new('RGB', (w, h), (255, 255, 255) if random.random() < 0.5 else
                         tuple(random.randint(0, 255) for _ in range(3)))
    if kind < 0.6:
        a, b = np.random.randint(0, 256, 3), np.random.randint(0, 256, 3)
        t = np.linspace(0, 1, h if random.random() < 0.5 else w)[:, None]
        grad = (a * (1 - t) + b * t).astype('uint8')
        arr = np.broadcast_to(grad[:, None, :], (h, w, 3)) if len(t) == h else \
            np.broadcast_to(grad[None, :, :], (h, w, 3))
        return Image.fromarray(np.ascontiguousarray(arr))
    n = random.choice([4, 8, 16])
    small = np.random.randint(0, 256, (n, n, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))


class ImageItem:
    "One labelled image file (fastai maps transforms over tuples, so items are not tuples)."
    __slots__ = ('path', 'label', 'is_valid')

    def __init__(self, path, label, is_valid): self.path, self.label, self.is_valid = path, label, is_valid


def _rgba_item(item: ImageItem):
    """Training items are opened as RGBA (RandomBackground composites them; a photo on a white sheet loses the
    sheet); validation items on white. An item's `path` may be a PIL picture (a synthetic negative)."""
    from PIL import Image
    from predictors.core.imaging import to_rgb
    from predictors.kinds.image.uncertainty import white_to_alpha
    im = item.path.convert('RGBA') if isinstance(item.path, Image.Image) else _open_rgba(item.path)
    return to_rgb(im) if item.is_valid else white_to_alpha(im)


def _on_white(path):
    "A picture (a file or a PIL picture) as validation and the apps see it: RGB, any transparency on white."
    return _rgba_item(ImageItem(path, None, True))


def _item_label(item: ImageItem): return item.label
def _item_is_valid(item: ImageItem): return item.is_valid


def train_image(folder, name: str, store: ModelStore | None = None, valid_style: str | None = None,
                size: int = 64, epochs: int = 100, lr: float = 3e-3, repeat: int = 8, widen: float = 0.5,
                bs: int = 64, seed: int = 42, mixup: bool = True, activate: bool = True, log=print,
                test_folder=None, negatives=(), test_negatives=(), about: str | None = None,
                valid_pct: float = 0.2, ground: float = 1.0) -> str:
    """Train an image classifier from scratch on `folder` and register it as a new version of `name`.

    `test_folder` (`<class>/<images>`): the photos whose accuracy the card reports, half of them calibrating the
    model when it learns from negatives (`_test_items`; else the held-out `valid_pct` of `folder` does both).
    `negatives`: folders of pictures of none of the classes to learn to be unsure of (with synthetic ones, always);
    `test_negatives`: such pictures kept apart to measure how often the model is confidently wrong.
    `about`: what the pictures are, in a phrase the image app shows ('photos of single fruits on a white sheet').
    `ground`: how often a training picture is put on a random background (else on white)."""
    from fastai.vision.all import (CategoryBlock, DataBlock, FuncSplitter, ImageBlock, Learner, Resize,
                                   accuracy, aug_transforms, xresnet18, LabelSmoothingCrossEntropy, MixUp)
    from predictors.kinds.image.uncertainty import NONE_LABEL, OutlierExposureLoss
    store = store or ModelStore()
    items = [ImageItem(*it) for it in find_image_items(folder, valid_style=valid_style, valid_pct=valid_pct, seed=seed)]
    train = [it for it in items if not it.is_valid]
    valid = [it for it in items if it.is_valid]
    if not train or not valid: raise ModelError('need images both to train on and to validate on.')
    classes = sorted({it.label for it in items})
    seed_everything(seed)
    sets = _negative_sets(negatives, test_negatives, seed) if negatives or test_negatives else None
    vocab = classes + [NONE_LABEL] * bool(sets)
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock(vocab=vocab, sort=False)), get_x=_rgba_item,
                       get_y=_item_label, splitter=FuncSplitter(_item_is_valid),
                       item_tfms=[RandomBackground(ground=ground), Resize(size)],
                       batch_tfms=aug_transforms(size=size, max_rotate=25, max_zoom=1.3, max_lighting=0.4,
                                                 max_warp=0.25, p_affine=0.9, p_lighting=0.9, flip_vert=bool(sets)))
    dls = dblock.dataloaders(train * repeat + (sets['train'] if sets else []) + valid, bs=bs, num_workers=0)
    model = xresnet18(n_out=len(classes), widen=widen)
    loss = OutlierExposureLoss(len(classes)) if sets else LabelSmoothingCrossEntropy()
    learn = Learner(dls, model, loss_func=loss, metrics=accuracy)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr, cbs=[MixUp(0.4)] if mixup else None)
    log(f'{name}: trained in {time.time() - t0:.0f}s on {len(train)} images'
        + (f' and {len(sets["train"])} negatives' if sets else ''))
    _as_plain_classifier(learn, classes)
    calib, test = _test_items(test_folder, valid, classes, bool(sets), seed)
    metrics, uncertainty = _held_out(learn, classes, calib, test, sets, log)
    metrics.update(train_images=len(train), epochs=epochs, test_folder=str(test_folder) if test_folder else None,
                   valid_style=valid[0].path.parent.name if valid_style else None)
    log(f'{name}: held-out accuracy {metrics["accuracy"]:.4f} on {metrics["test_images"]} images')
    from predictors.core.imaging import image_stats
    stats = [image_stats(_on_white(it.path)) for it in train]
    preds = uncertainty.pop('predicted')
    card = dict(task='image', classes=classes, target='label', schema=image_schema(learn), metrics=metrics,
                reference=dict(image_stats={k: [s[k] for s in stats] for k in stats[0]},
                               valid_pred_dist=class_dist(preds, classes)),
                data_source=dict(folder=str(folder), images=len(items)), library=library_versions())
    if sets: card.update(min_confidence=uncertainty.pop('min_confidence'), uncertainty=uncertainty)
    if about: card['about'] = about
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)


def _test_items(test_folder, valid: list, classes: list, calibrate: bool, seed: int) -> tuple[list, list]:
    """The photos that calibrate the model and choose Not sure, and those whose answers the card reports: with a
    `test_folder` and `calibrate`, one half of it each (held-out frames of the training videos are near copies of
    training frames, so a model calibrated on them believes itself always right); else `valid` for both."""
    if not test_folder: return valid, valid
    test = [ImageItem(*it) for it in find_image_items(test_folder, valid_pct=0.5 * calibrate, seed=seed)]
    unknown = sorted({it.label for it in test} - set(classes))
    if unknown: raise ModelError(f'the test photos name classes the training photos do not: {", ".join(unknown)}.')
    return ([it for it in test if it.is_valid] if calibrate else valid), [it for it in test if not it.is_valid]


def _files_under(folders) -> list:
    "Every image file under the given folders, sub-folders too, in a stable order."
    out = []
    for f in folders:
        f = Path(f)
        if not f.is_dir(): raise ModelError(f'{f} is not a folder.')
        out += sorted(p for p in f.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    return out


def _negative_sets(negatives, test_negatives, seed: int) -> dict:
    """Pictures of none of the classes: `train` (items, 80 % of the `negatives` files six times and 600 synthetic),
    `valid` (the other 20 % and 150 synthetic: where the threshold is chosen) and `test` (`test_negatives` and 300
    synthetic of another seed: where it is measured), the last two as RGB pictures."""
    from predictors.kinds.image.uncertainty import NONE_LABEL, synthetic_negatives
    files = _files_under(negatives)
    random.Random(seed).shuffle(files)
    cut = len(files) * 4 // 5
    train = [ImageItem(p, NONE_LABEL, False) for p in files[:cut] * 6 + synthetic_negatives(600, seed=seed)]
    return dict(train=train, valid=[_on_white(p) for p in files[cut:]] + synthetic_negatives(150, seed=seed + 1),
                test=[_on_white(p) for p in _files_under(test_negatives)] + synthetic_negatives(300, seed=seed + 2),
                sources=[str(f) for f in (*negatives, *test_negatives)])


def _as_plain_classifier(learn, classes) -> None:
    "Export as fastai's own classifier: the class vocabulary without the negatives' label, fastai's loss."
    from fastai.data.transforms import Categorize, CategoryMap
    from fastai.losses import CrossEntropyLossFlat
    for ds in (learn.dls.train_ds, learn.dls.valid_ds):
        for t in ds.tls[1].tfms.fs:
            if isinstance(t, Categorize): t.vocab = CategoryMap(classes, sort=False)
    learn.loss_func = CrossEntropyLossFlat()


def _held_out(learn, classes, valid, test, sets, log) -> tuple[dict, dict]:
    """Accuracy on the `test` photos; with negatives, the temperature (folded into the model) and the *Not sure*
    threshold, both chosen on the `valid` photos (and the held-out negatives), and what they do on the test photos
    and the test negatives."""
    from predictors.kinds.image.uncertainty import (calibration_error, choose_threshold, fit_temperature,
                                                    fold_temperature)
    import torch
    pred = ImagePredictor(learn, {}, batch_size=128)
    rgb = lambda its: [_on_white(it.path) for it in its]
    probs = lambda pictures: torch.softmax(pred.logits(pictures), -1).numpy()
    index = {c: i for i, c in enumerate(classes)}
    y_test, test_pics = np.array([index[it.label] for it in test]), rgb(test)
    if not sets:
        p = probs(test_pics)
        return dict(accuracy=round(float((p.argmax(1) == y_test).mean()), 5), test_images=len(test),
                    valid_images=len(valid)), dict(predicted=p.argmax(1))
    y_valid, valid_pics = np.array([index[it.label] for it in valid]), rgb(valid)
    before = probs(test_pics)
    temperature = fit_temperature(pred.logits(valid_pics), y_valid)
    fold_temperature(learn.model, temperature)
    p_valid, p_neg_valid = probs(valid_pics), probs(sets['valid'])
    threshold = choose_threshold(p_valid.max(1), p_valid.argmax(1) == y_valid, p_neg_valid.max(1))
    p, p_neg = probs(test_pics), probs(sets['test'])
    answered, right = p.max(1) >= threshold, p.argmax(1) == y_test
    wrong_neg = float((p_neg.max(1) >= threshold).mean())
    log(f'temperature {temperature:.3f}; Not sure below {threshold:.3f}: {answered.mean():.1%} of test photos '
        f'answered, {wrong_neg:.1%} of {len(p_neg)} test negatives answered')
    metrics = dict(accuracy=round(float(right.mean()), 5), test_images=len(test), calibration_images=len(valid))
    return metrics, dict(
        predicted=p.argmax(1), min_confidence=round(threshold, 4), temperature=round(temperature, 4),
        calibration=(f'temperature scaling on {len(valid)} held-out photos (negative log-likelihood), folded into '
                     f'the last layer: the exported learner\'s own probabilities are the calibrated ones'),
        calibration_error=dict(before=round(calibration_error(before, y_test), 4),
                               after=round(calibration_error(p, y_test), 4), on=f'{len(test)} test photos'),
        not_sure=(f'the highest calibrated probability below {threshold:.1%}: the threshold that minimises right '
                  f'answers said Not sure plus negatives answered, on {len(valid)} held-out photos and '
                  f'{len(p_neg_valid)} held-out negatives'),
        answered=round(float(answered.mean()), 4), accuracy_answered=round(float(right[answered].mean()), 5)
        if answered.any() else None,
        negatives=dict(trained_on=len(sets['train']), test_images=len(p_neg), confidently_wrong=round(wrong_neg, 4),
                       sources=sets['sources'] + ['synthetic: noise, textures, gradients, stripes, shapes']))

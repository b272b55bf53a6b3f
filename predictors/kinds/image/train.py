"""Training an image classifier reproducibly and registering it in the store.

`train_image` trains a small xresnet from scratch with strong augmentation and writes a model card
with the classes, held-out accuracy and reference statistics of the training images.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import numpy as np

from predictors.core.helpers import IMAGE_SUFFIXES
from predictors.core.store import ModelError, ModelStore
from predictors.kinds.image.predictor import image_schema
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
        n_val = max(1, round(len(fs) * valid_pct)) if len(fs) > 1 else 0
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
    """Training only: paste an RGBA image, randomly scaled and placed, on a random background.

    Backgrounds are plain colours, gradients and smooth noise, so the model learns the object
    rather than the white canvas. Validation and inference images are composited on white.
    """
    split_idx, order = 0, 0

    def __init__(self, p=1.0, min_scale=0.55):
        super().__init__(p=p)
        self.min_scale = min_scale

    def encodes(self, x: _PILImage):
        from PIL import Image
        if x.mode != 'RGBA': return x
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
    "Training items are opened as RGBA (RandomBackground composites them); validation on white."
    from predictors.core.imaging import to_rgb
    im = _open_rgba(item.path)
    return to_rgb(im) if item.is_valid else im


def _item_label(item: ImageItem): return item.label
def _item_is_valid(item: ImageItem): return item.is_valid


def train_image(folder, name: str, store: ModelStore | None = None, valid_style: str | None = None,
                size: int = 64, epochs: int = 100, lr: float = 3e-3, repeat: int = 8, widen: float = 0.5,
                bs: int = 64, seed: int = 42, mixup: bool = True, activate: bool = True, log=print) -> str:
    "Train an image classifier from scratch on `folder` and register it as a new version of `name`."
    from fastai.vision.all import (CategoryBlock, DataBlock, FuncSplitter, ImageBlock, Learner, Resize,
                                   accuracy, aug_transforms, xresnet18, LabelSmoothingCrossEntropy, MixUp)
    store = store or ModelStore()
    items = [ImageItem(*it) for it in find_image_items(folder, valid_style=valid_style, seed=seed)]
    train = [it for it in items if not it.is_valid]
    valid = [it for it in items if it.is_valid]
    if not train or not valid: raise ModelError('need images both to train on and to validate on.')
    seed_everything(seed)
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=_rgba_item, get_y=_item_label,
                       splitter=FuncSplitter(_item_is_valid),
                       item_tfms=[RandomBackground(), Resize(size)],
                       batch_tfms=aug_transforms(size=size, max_rotate=25, max_zoom=1.3, max_lighting=0.4,
                                                 max_warp=0.25, p_affine=0.9, p_lighting=0.9))
    dls = dblock.dataloaders(train * repeat + valid, bs=bs, num_workers=0)
    model = xresnet18(n_out=len(dls.vocab), widen=widen)
    learn = Learner(dls, model, loss_func=LabelSmoothingCrossEntropy(), metrics=accuracy)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr, cbs=[MixUp(0.4)] if mixup else None)
        preds, y = learn.get_preds(ds_idx=1)
    acc = float((preds.argmax(1) == y).float().mean())
    log(f'{name}: trained in {time.time() - t0:.0f}s, held-out accuracy {acc:.4f} on {len(y)} images')
    classes = [str(c) for c in dls.vocab]
    from predictors.core.imaging import image_stats
    stats = [image_stats(_rgba_item(ImageItem(it.path, it.label, True))) for it in train]
    card = dict(task='image', classes=classes, target='label', schema=image_schema(learn),
                metrics=dict(accuracy=round(acc, 5), valid_images=len(y), train_images=len(train),
                             epochs=epochs, valid_style=valid[0].path.parent.name if valid_style else None),
                reference=dict(image_stats={k: [s[k] for s in stats] for k in stats[0]},
                               valid_pred_dist=class_dist(preds.argmax(1).numpy(), classes)),
                data_source=dict(folder=str(folder), images=len(items)), library=library_versions())
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)

"""Rebuild test_images/ from data/, deterministically: pictures the `fruits` demo never trained on.

- `photo_<class>.jpg`: 12 Fruits-360 test photos (data/fruits360/Test, one each of 12 classes), as they are.
- `table_<class>.jpg`: 4 of those fruits cut from their white sheet and put on a photo-like surface (a fruit
  somewhere else than in the training photos: the model answers it or says Not sure, never matters which).
- `drawing_<class>.png`: 4 drawings of the held-out emoji style (data/fruit_emoji/fluent_modern), which the model
  must be unsure of: it learnt from photos.
- `mix/`: pictures of several fruits for the multi-label demo (`mixed_fruits`), made as its training pictures are
  (data/fruits360/make_composites.py) from test photos it never saw: `mix_<fruit>_<fruit>….jpg`, and `mix_none.jpg`
  (a sheet with no fruit on it).

    .venv/bin/python test_images/make_test_images.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from predictors.kinds.image.uncertainty import white_to_alpha

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / 'data'
PHOTOS = DATA / 'fruits360' / 'Test'
DRAWINGS = DATA / 'fruit_emoji' / 'fluent_modern'


def slug(name: str) -> str:
    "A class folder as a file name: 'Apple Red 1' -> 'apple_red_1'."
    return name.lower().replace(' ', '_')


def photo_background(size, rng):
    "A smooth, noisy, lit surface that looks more like a photo than a flat canvas."
    w, h = size
    base = rng.integers(60, 220, (6, 6, 3)).astype(np.uint8)
    bg = Image.fromarray(base).resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(6))
    a = np.asarray(bg, dtype=np.float32)
    a += rng.normal(0, 9, a.shape)                           # sensor noise
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1.15 - 0.4 * (((xx - w * 0.3) ** 2 + (yy - h * 0.2) ** 2) / (w * w))  # a light from the top left
    return Image.fromarray((a * light[..., None]).clip(0, 255).astype(np.uint8))


def main():
    for old in HERE.glob('*'):
        if old.suffix.lower() in ('.png', '.jpg'): old.unlink()
    classes = sorted(p.name for p in PHOTOS.iterdir() if p.is_dir())
    chosen = classes[::5] + classes[1::5] + classes[2::5]                 # 12 of the 20, spread over the list
    for c in chosen:
        first = sorted(PHOTOS.joinpath(c).glob('*.jpg'))[len(list(PHOTOS.joinpath(c).glob('*.jpg'))) // 2]
        (HERE / f'photo_{slug(c)}.jpg').write_bytes(first.read_bytes())
    rng = np.random.default_rng(7)
    for c in chosen[:4]:
        fruit = white_to_alpha(Image.open(sorted(PHOTOS.joinpath(c).glob('*.jpg'))[3])).resize((130, 130), Image.LANCZOS)
        bg = photo_background((224, 224), rng)
        bg.paste(fruit, (47, 50), fruit.getchannel('A'))
        bg.save(HERE / f'table_{slug(c)}.jpg', quality=88)
    for c in ('broccoli', 'carrot', 'lemon', 'strawberry'):
        Image.open(DRAWINGS / f'{c}.png').save(HERE / f'drawing_{c}.png')
    mixes = mixed_pictures()
    print(f'{len(chosen)} test photos, 4 on another surface, 4 drawings and {mixes} pictures of several fruits in {HERE}')


MIXES = [('Lemon', 'Orange'), ('Apple Red 1', 'Kiwi', 'Pear'), ('Avocado', 'Strawberry'), ('Grape',), ()]


def mixed_pictures() -> int:
    "Pictures of 0–3 fruits from the test photos the multi-label demo holds out for its card (odd ones), as it sees them."
    import importlib.util
    import random
    spec = importlib.util.spec_from_file_location('make_composites', DATA / 'fruits360' / 'make_composites.py')
    mc = importlib.util.module_from_spec(spec); spec.loader.exec_module(mc)
    out = HERE / 'mix'
    out.mkdir(exist_ok=True)
    for old in out.glob('*.jpg'): old.unlink()
    rng = random.Random(11)
    for fruits in MIXES:
        photos = [sorted(PHOTOS.joinpath(c).glob('*.jpg'))[1::2][5] for c in fruits]
        name = '_'.join(slug(c) for c in fruits) or 'none'
        mc.compose(photos, rng).save(out / f'mix_{name}.jpg', quality=92)
    return len(MIXES)


if __name__ == '__main__':
    main()

"""Pictures of 0–3 fruits for the multi-label demo (`mixed_fruits`), made from the Fruits-360 photos, deterministically.

Each picture is a white 96 px sheet with up to four 48 px places; 1–3 of them hold a photo of a different fruit
(shrunk to 38–48 px, placed with a little play), or a single fruit fills most of the sheet (as a photo of one fruit
does), and one picture in ten holds none (an empty sheet, or one of the synthetic pictures of nothing the image
training uses). `labels.csv` lists each picture's fruits, `;` between
them, empty for none: fastai's `ImageDataLoaders.from_df(..., label_delim=';')` layout.

- `train/`: from the `Training` photos (what the model learns from);
- `valid/`: from one half of the `Test` photos (where each label's threshold is chosen);
- `test/`: from the other half (what the card reports): photos the model never saw, in pictures it never saw.

    .venv/bin/python data/fruits360/make_composites.py OUT        # ~20 s; OUT/{train,valid,test}/labels.csv
"""
from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
CLASSES = ['Apple Red 1', 'Avocado', 'Grape', 'Kiwi', 'Lemon', 'Orange', 'Pear', 'Strawberry']
SIZE, CELL = 96, 48
HOW_MANY = (0, 1, 1, 1, 2, 2, 2, 3, 3, 3)     # fruits per picture: none one time in ten


def compose(photos: list, rng: random.Random, size: int = SIZE, whole: bool = False) -> Image.Image:
    "A white `size` px picture with each of `photos` (paths, at most 4) in a different quarter; `whole`: one fills it."
    sheet = Image.new('RGB', (size, size), 'white')
    cell = size // 2
    if whole:
        side = rng.randint(int(size * 0.7), size)
        im = Image.open(photos[0]).convert('RGB').resize((side, side), Image.LANCZOS)
        sheet.paste(im, (rng.randint(0, size - side), rng.randint(0, size - side)))
        return sheet
    for path, place in zip(photos, rng.sample(range(4), len(photos))):
        side = rng.randint(int(cell * 0.8), cell)
        im = Image.open(path).convert('RGB').resize((side, side), Image.LANCZOS)
        x, y = (place % 2) * cell + rng.randint(0, cell - side), (place // 2) * cell + rng.randint(0, cell - side)
        sheet.paste(im, (x, y))
    return sheet


def _nothing(i: int, rng: random.Random) -> Image.Image:
    "A picture of no fruit: an empty sheet, or a synthetic picture of nothing (noise, textures, shapes)."
    if i % 2 == 0: return Image.new('RGB', (SIZE, SIZE), 'white')
    from predictors.kinds.image.uncertainty import synthetic_negatives
    return synthetic_negatives(1, size=SIZE, seed=rng.randint(0, 10**6))[0]


def make_set(photos: dict, n: int, out: Path, seed: int) -> None:
    "`n` pictures from `photos` ({class: [paths]}) into `out`, with `labels.csv`."
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        k = HOW_MANY[i % len(HOW_MANY)]
        fruits = sorted(rng.sample(CLASSES, k))
        whole = len(fruits) == 1 and rng.random() < 0.5
        im = compose([rng.choice(photos[c]) for c in fruits], rng, whole=whole) if fruits else _nothing(i, rng)
        name = f'{i:04d}.jpg'
        im.save(out / name, quality=92)
        rows.append((name, ';'.join(fruits)))
    with open(out / 'labels.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['fname', 'labels'])
        w.writerows(rows)


def main(out: Path, n_train: int = 2400, n_test: int = 300) -> None:
    photos = lambda split: {c: sorted((HERE / split / c).glob('*.jpg')) for c in CLASSES}
    test = photos('Test')
    valid = {c: ps[0::2] for c, ps in test.items()}
    test = {c: ps[1::2] for c, ps in test.items()}
    make_set(photos('Training'), n_train, out / 'train', seed=1)
    make_set(valid, n_test, out / 'valid', seed=2)
    make_set(test, n_test, out / 'test', seed=3)
    print(f'{n_train} training, {n_test} validation and {n_test} test pictures of 0–3 fruits in {out}')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', type=Path)
    p.add_argument('--train', type=int, default=2400)
    p.add_argument('--test', type=int, default=300)
    a = p.parse_args()
    main(a.out, a.train, a.test)

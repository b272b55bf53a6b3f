"""Rebuild test_images/ from data/: 12 images of the held-out style (fluent_modern, never seen in
training) and 4 of them composed onto photo-like backgrounds (JPEG), deterministically.

    .venv/bin/python test_images/make_test_images.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / 'data' / 'fruit_emoji' / 'fluent_modern'


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
    classes = sorted(p.stem for p in SRC.glob('*.png'))
    chosen = classes[::3][:12]
    for c in chosen:
        Image.open(SRC / f'{c}.png').save(HERE / f'fluent_modern_{c}.png')
    rng = np.random.default_rng(7)
    for c in chosen[::3]:
        fg = Image.open(SRC / f'{c}.png').convert('RGBA').resize((150, 150), Image.LANCZOS)
        bg = photo_background((224, 224), rng)
        bg.paste(fg, (37, 40), fg.getchannel('A'))
        bg.save(HERE / f'photo_{c}.jpg', quality=88)
    print(f'{len(chosen)} held-out style images and {len(chosen[::3])} photo-like composites in {HERE}')


if __name__ == '__main__':
    main()

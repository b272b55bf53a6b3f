"The image predictor: equal to learn.predict, batched, and safe with any file."
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from helpers import TEST_IMAGES
from predictors.imaging import BadImage, ImageLimits, decode_image


def _png(im) -> bytes:
    buf = io.BytesIO(); im.save(buf, 'PNG'); return buf.getvalue()


def _save(im, fmt, **kw) -> bytes:
    buf = io.BytesIO(); im.save(buf, fmt, **kw); return buf.getvalue()


def _good_files():
    files = sorted(p for p in TEST_IMAGES.iterdir() if p.suffix.lower() in ('.png', '.jpg', '.jpeg'))
    assert len(files) >= 12
    return [(p.name, p.read_bytes()) for p in files]


def test_probabilities_equal_learn_predict(fruits_learner, fruits_predictor):
    from fastai.vision.core import PILImage
    files = _good_files()[:8]
    results = fruits_predictor.predict_files(files)
    for (name, data), r in zip(files, results):
        assert r.ok, r.error
        want = fruits_learner.predict(PILImage(decode_image(data)))[2].numpy()
        got = np.array([r.probabilities[c] for c in fruits_predictor.classes])
        assert np.abs(got - want).max() <= 1e-5, name


def test_heldout_style_test_images_are_mostly_right(fruits_predictor):
    files = [(n, d) for n, d in _good_files() if n.startswith('fluent_modern_')]
    res = fruits_predictor.predict_files(files)
    right = sum(r.prediction == r.name[len('fluent_modern_'):].rsplit('.', 1)[0] for r in res)
    assert right / len(res) >= 0.6, [(r.name, r.prediction) for r in res]


def _bomb_png(w=20000, h=20000) -> bytes:
    "A tiny PNG whose header claims a huge image (a decompression bomb)."
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = zlib.compress(b'\x00' * (w // 8 + 1))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0))
            + chunk(b'IDAT', raw) + chunk(b'IEND', b''))


def _bad_corpus():
    good = _png(Image.new('RGB', (40, 40), 'red'))
    return {
        'notes.txt': (b'hello, this is text', 'not an image file'),
        'doc.pdf': (b'%PDF-1.4\n1 0 obj << >> endobj\n%%EOF', 'not an image file'),
        'empty.png': (b'', 'empty'),
        'truncated.png': (good[:len(good) // 2], 'truncated or corrupt'),
        'corrupt.jpg': (b'\xff\xd8\xff\xe0' + b'\x00' * 50, 'truncated or corrupt|not an image'),
        'bomb.png': (_bomb_png(), 'pixels'),
    }


@pytest.mark.parametrize('name', list(_bad_corpus()))
def test_bad_file_is_rejected_with_a_message(name):
    data, msg = _bad_corpus()[name]
    with pytest.raises(BadImage, match=msg):
        decode_image(data, name)


def test_file_over_size_limit_is_rejected():
    data = _png(Image.effect_noise((300, 300), 64).convert('RGB'))
    with pytest.raises(BadImage, match='over the limit'):
        decode_image(data, 'big.png', ImageLimits(max_bytes=len(data) - 1))


def _unusual():
    rgba = Image.new('RGBA', (32, 32), (0, 0, 0, 0)); rgba.paste((255, 0, 0, 255), (8, 8, 24, 24))
    la = Image.new('LA', (32, 32), (0, 0))
    pal = Image.new('P', (32, 32)); pal.putpalette([0, 0, 255] * 256)
    cmyk = Image.new('CMYK', (32, 32), (0, 255, 255, 0))
    i16 = Image.fromarray(np.full((32, 32), 65535, np.uint16))
    exif_img = Image.new('RGB', (40, 20), 'green'); exif = exif_img.getexif(); exif[0x0112] = 6
    gif = [Image.new('P', (32, 32), i) for i in (1, 2, 3)]
    gif_bytes = io.BytesIO(); gif[0].save(gif_bytes, 'GIF', save_all=True, append_images=gif[1:])
    webp = io.BytesIO(); Image.new('RGB', (32, 32), 'blue').save(webp, 'WEBP', save_all=True,
                                                                    append_images=[Image.new('RGB', (32, 32), 'red')])
    return {
        'rgba': (_png(rgba), lambda im: im.getpixel((0, 0)) == (255, 255, 255) and im.getpixel((16, 16)) == (255, 0, 0)),
        'la': (_png(la), lambda im: im.getpixel((0, 0)) == (255, 255, 255)),
        'palette': (_png(pal), lambda im: im.getpixel((0, 0)) == (0, 0, 255)),
        'grey': (_png(Image.new('L', (32, 32), 128)), lambda im: im.getpixel((0, 0)) == (128, 128, 128)),
        'cmyk': (_save(cmyk, 'JPEG'), lambda im: im.getpixel((0, 0))[0] > 200 and im.getpixel((0, 0))[1] < 60),
        '16bit': (_png(i16), lambda im: im.getpixel((0, 0)) == (255, 255, 255)),
        'exif_rotated': (_save(exif_img, 'JPEG', exif=exif), lambda im: im.size == (20, 40)),
        'animated_gif': (gif_bytes.getvalue(), lambda im: im.size == (32, 32)),
        'animated_webp': (webp.getvalue(), lambda im: im.getpixel((5, 5))[2] > 200),
    }


@pytest.mark.parametrize('name', list(_unusual()))
def test_unusual_images_are_converted_not_rejected(name):
    data, check = _unusual()[name]
    im = decode_image(data, name)
    assert im.mode == 'RGB' and check(im), (name, im.size, im.getpixel((0, 0)))


def test_bad_files_fail_alone_among_good_ones(fruits_predictor):
    good = _good_files()[:3]
    bad = [(n, d) for n, (d, _) in _bad_corpus().items()]
    res = fruits_predictor.predict_files(good[:2] + bad + good[2:])
    assert [r.ok for r in res] == [True, True] + [False] * len(bad) + [True]
    assert all(r.prediction in fruits_predictor.classes for r in res if r.ok)
    assert all(r.error.startswith(r.name + ':') for r in res if not r.ok)


def test_too_many_files_in_one_upload(fruits_learner, fruits_predictor):
    from predictors.image import ImagePredictor
    p = ImagePredictor(fruits_learner, fruits_predictor.card, limits=ImageLimits(max_files=2))
    res = p.predict_files(_good_files()[:3])
    assert [r.ok for r in res] == [True, True, False]
    assert 'at most 2 files' in res[2].error


def test_upload_total_limit_and_limits_from_the_environment(fruits_learner, fruits_predictor):
    from predictors.image import ImagePredictor
    files = _good_files()[:3]
    limit = len(files[0][1]) + len(files[1][1])
    p = ImagePredictor(fruits_learner, fruits_predictor.card, limits=ImageLimits(max_upload_bytes=limit))
    res = p.predict_files(files)
    assert [r.ok for r in res] == [True, True, False] and 'together' in res[2].error
    lim = ImageLimits.from_env({'FASTAI_APPS_MAX_FILES': '5', 'FASTAI_APPS_MAX_IMAGE_BYTES': '1000'})
    assert (lim.max_files, lim.max_bytes, lim.max_pixels) == (5, 1000, ImageLimits().max_pixels)

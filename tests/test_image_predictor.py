"The image predictor: equal to learn.predict, batched, and safe with any file."

import numpy as np
import pytest
from PIL import Image

from helpers import TEST_IMAGES
from image_corpus import _bad_corpus, _png, _unusual
from predictors.core.imaging import BadImage, ImageLimits, decode_image


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


@pytest.mark.parametrize('name', list(_bad_corpus()))
def test_bad_file_is_rejected_with_a_message(name):
    data, msg = _bad_corpus()[name]
    with pytest.raises(BadImage, match=msg):
        decode_image(data, name)


def test_file_over_size_limit_is_rejected():
    data = _png(Image.effect_noise((300, 300), 64).convert('RGB'))
    with pytest.raises(BadImage, match='over the limit'):
        decode_image(data, 'big.png', ImageLimits(max_bytes=len(data) - 1))


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
    from predictors.kinds.image.predictor import ImagePredictor
    p = ImagePredictor(fruits_learner, fruits_predictor.card, limits=ImageLimits(max_files=2))
    res = p.predict_files(_good_files()[:3])
    assert [r.ok for r in res] == [True, True, False]
    assert 'at most 2 files' in res[2].error


def test_upload_total_limit_and_limits_from_the_environment(fruits_learner, fruits_predictor):
    from predictors.kinds.image.predictor import ImagePredictor
    files = _good_files()[:3]
    limit = len(files[0][1]) + len(files[1][1])
    p = ImagePredictor(fruits_learner, fruits_predictor.card, limits=ImageLimits(max_upload_bytes=limit))
    res = p.predict_files(files)
    assert [r.ok for r in res] == [True, True, False] and 'together' in res[2].error
    # a file refused for its own size takes no room from the others (as in the drop zone)
    small = ImageLimits(max_bytes=max(len(d) for _, d in files), max_upload_bytes=limit)
    p = ImagePredictor(fruits_learner, fruits_predictor.card, limits=small)
    res = p.predict_files([('huge.png', b'x' * (small.max_bytes + 1))] + files[:2])
    assert [r.ok for r in res] == [False, True, True] and 'over the limit' in res[0].error
    lim = ImageLimits.from_env({'FASTAI_APPS_MAX_FILES': '5', 'FASTAI_APPS_MAX_IMAGE_BYTES': '1000'})
    assert (lim.max_files, lim.max_bytes, lim.max_pixels) == (5, 1000, ImageLimits().max_pixels)

"Honest image answers: calibration, the Not sure threshold chosen on held-out negatives, and a model trained with them."
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import FRUIT_DIR, ROOT
from predictors.kinds.image.uncertainty import (OutlierExposureLoss, calibration_error, choose_threshold, fit_temperature,
                                                fold_temperature, synthetic_negatives, white_to_alpha)

PHOTOS = ROOT / 'data' / 'fruits360'


def test_the_threshold_balances_right_answers_said_unsure_and_negatives_answered():
    photos, right = [0.95, 0.9, 0.8, 0.4], [True, True, True, False]      # a wrong answer may go either way
    assert choose_threshold(photos, right, [0.3, 0.5, 0.6]) == pytest.approx(0.6, abs=1e-5)    # none lost, none let in
    # overlapping: one negative above a right answer; the balanced error decides (1/3 + 0 < 0 + 1/2)
    t = choose_threshold([0.9, 0.95, 0.7], [True] * 3, [0.3, 0.8])
    assert t == pytest.approx(0.8, abs=1e-5)


def test_a_temperature_is_found_and_folded_into_the_last_layer():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4000, 5, generator=g) * 2
    y = torch.multinomial(torch.softmax(z, 1), 1, generator=g)[:, 0]      # labels drawn from softmax(z): calibrated
    assert fit_temperature(3 * z, y) == pytest.approx(3, rel=0.1)         # three times too sure: T = 3
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    x = torch.randn(10, 4, generator=g)
    before = model(x).detach()
    fold_temperature(model, 2.5)
    assert torch.allclose(model(x), before / 2.5, atol=1e-6)
    probs = torch.softmax(3 * z, 1).numpy()
    assert calibration_error(torch.softmax(z, 1).numpy(), y.numpy()) < 0.03 < calibration_error(probs, y.numpy())


def test_pictures_of_none_of_the_classes_are_pulled_towards_not_sure():
    loss = OutlierExposureLoss(3)
    sure, even = torch.tensor([[6., 0, 0]]), torch.zeros(1, 3)
    none = torch.tensor([3])
    assert loss(even, none) < loss(sure, none)                           # a negative: spread belief is better
    assert loss(sure, torch.tensor([0])) < loss(even, torch.tensor([0]))  # a photo of class 0: sure and right
    loss.reduction = 'none'
    assert loss(torch.cat([sure, even]), torch.tensor([0, 3])).shape == (2,)


def test_synthetic_negatives_are_repeatable_and_white_sheets_become_transparent():
    a, b = synthetic_negatives(12, 32, seed=1), synthetic_negatives(12, 32, seed=1)
    assert len(a) == 12 and all(x.size == (32, 32) and x.mode == 'RGB' for x in a)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(synthetic_negatives(1, 32, seed=2)[0]))
    photo = Image.new('RGB', (20, 20), 'white'); photo.paste((200, 30, 30), (5, 5, 15, 15))
    alpha = np.asarray(white_to_alpha(photo).getchannel('A'))
    assert alpha[0, 0] == 0 and alpha[10, 10] == 255


def test_training_with_negatives_writes_a_calibrated_model_and_says_how_it_decides(tmp_path):
    "A small run: the exported learner is fastai's own (its classes, fastai's loss), its card states how it decides."
    from fastai.learner import load_learner
    from predictors import ModelStore
    from predictors.kinds.image.train import train_image
    for split, n in (('Training', 16), ('Test', 4)):
        for c in ('Lemon', 'Plum', 'Strawberry'):
            (tmp_path / split / c).mkdir(parents=True)
            for f in sorted((PHOTOS / split / c).glob('*.jpg'))[:n]: shutil.copy(f, tmp_path / split / c)
    store = ModelStore(tmp_path / 'models')
    v = train_image(tmp_path / 'Training', 'tiny', store=store, test_folder=tmp_path / 'Test', epochs=1, repeat=1,
                    size=32, negatives=[FRUIT_DIR / 'noto'], test_negatives=[FRUIT_DIR / 'fluent_modern'],
                    about='photos of three fruits', log=lambda m: None)
    card = store.card('tiny', v)
    u = card['uncertainty']
    assert card['classes'] == ['Lemon', 'Plum', 'Strawberry'] and card['about'] == 'photos of three fruits'
    assert 0 < card['min_confidence'] < 1 and u['temperature'] > 0          # half the test photos calibrate, half report
    assert card['metrics']['test_images'] == card['metrics']['calibration_images'] == 6
    assert u['negatives']['test_images'] == 36 + 300 and 0 <= u['negatives']['confidently_wrong'] <= 1
    assert 'held-out photos' in u['calibration'] and 'negatives' in u['not_sure']
    learn = load_learner(store.path('tiny', v) / 'model.pkl')
    assert list(learn.dls.vocab) == card['classes'] and type(learn.loss_func).__name__ == 'CrossEntropyLossFlat'

"""Explanations (#14): Shapley contributions of tabular answers, Grad-CAM heatmaps of image answers."""
import io
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import ADULT_CSV, run_cli, image_files


# ---- tabular --------------------------------------------------------------------------------------
def test_contributions_add_up_to_the_answer_for_100_rows(adult_predictor, adult_df):
    "Efficiency: base + the sum of the contributions = the probability of the predicted class (≤ 1e-4)."
    from predictors.kinds.tables.explain import TabularExplainer
    ex = TabularExplainer(adult_predictor)
    assert not ex.exact and ex.permutations >= 16          # 14 fields: sampled, still exactly efficient
    assert ex.background == '64 rows of the training data'  # from the card: no training data needed
    rows = adult_df.sample(100, random_state=1).reset_index(drop=True)
    out = ex.explain_frame(rows)
    res = adult_predictor.predict_frame(rows)
    assert len(out) == 100 and all(e.ok for e in out)
    for e, p in zip(out, res):
        assert e.target == p.prediction
        assert abs(e.probability - p.probability) <= 1e-4
        assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-4
        assert sorted(c['field'] for c in e.contributions) == sorted(c['name'] for c in adult_predictor.inputs)
        mags = [abs(c['contribution']) for c in e.contributions]
        assert mags == sorted(mags, reverse=True)           # largest effect first


def test_a_bad_row_gets_its_reason_and_the_others_are_explained(adult_predictor, adult_df):
    from predictors.kinds import kind
    rows = adult_df.head(3).astype(object)
    rows.loc[1, 'age'] = 'forty'
    out = kind('tabular').explainer(adult_predictor).explain_frame(rows)
    assert [e.ok for e in out] == [True, False, True]
    assert out[1].error == "Age: 'forty' is not a number"
    unknown = kind('tabular').explainer(adult_predictor).explain([{'age': None, 'workclass': 'Private'}])[0]
    assert unknown.ok and any('Age was empty' in w for w in unknown.warnings)
    assert next(c for c in unknown.contributions if c['field'] == 'age')['value'] is None


@pytest.fixture(scope='module')
def one_field_model(tmp_path_factory):
    """A tabular learner whose target depends on field `a` only (b, colour, size are noise), trained and
    registered. (Not `c`: fastai's TabularPandas answers `dls.c` with a column of that name.)"""
    from predictors import ModelStore, load_predictor
    from predictors.kinds.tables.train import train_tabular
    d = tmp_path_factory.mktemp('onefield')
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame(dict(a=rng.normal(size=n), b=rng.normal(size=n), colour=rng.choice(['x', 'y', 'z'], n),
                           size=rng.choice(['p', 'q'], n)))
    df['target'] = np.where(df['a'] > 0, 'yes', 'no')
    df.to_csv(d / 'one.csv', index=False)
    store = ModelStore(d / 'models')
    train_tabular(d / 'one.csv', 'target', 'one', cat=['colour', 'size'], cont=['a', 'b'], store=store, epochs=4,
                  log=lambda m: None)
    return load_predictor('one', store=store), df


def test_a_target_that_depends_on_one_field_is_explained_by_that_field(one_field_model):
    "On a learner whose answer depends on `a` only, `a` carries ≥ 90 % of the total absolute contribution."
    from predictors.kinds.tables.explain import TabularExplainer
    pred, df = one_field_model
    out = TabularExplainer(pred).explain_frame(df.head(50))
    total = {f: 0.0 for f in ('a', 'b', 'colour', 'size')}
    for e in out:
        for c in e.contributions: total[c['field']] += abs(c['contribution'])
    assert total['a'] / sum(total.values()) >= 0.9, total


def _brute_force(pred, background: pd.DataFrame, row: dict, k: int) -> dict:
    "Shapley values from the definition: every order of the fields, v(S) by scoring raw mixed rows."
    fields = [c['name'] for c in pred.inputs]

    def v(present):
        mixed = background.copy()
        for f in present: mixed[f] = row[f]
        return float(pred.predict_frame(mixed).probs[:, k].astype(np.float64).mean())
    phi = dict.fromkeys(fields, 0.0)
    orders = list(itertools.permutations(fields))
    for order in orders:
        for i, f in enumerate(order):
            phi[f] += v(order[:i + 1]) - v(order[:i])
    return {f: x / len(orders) for f, x in phi.items()}


def test_exact_shapley_values_match_a_brute_force_computation(one_field_model):
    "With ≤ 6 fields every coalition is scored: the values equal the definition over all 24 orders."
    from predictors.kinds.tables.explain import TabularExplainer, background_frame
    pred, df = one_field_model
    fields = [c['name'] for c in pred.inputs]
    background = background_frame(pred.card, fields, n=12)[0]
    ex = TabularExplainer(pred, background=background)
    assert ex.exact and ex.method == 'exact'
    for i in (0, 7):
        row = df.iloc[i][fields].to_dict()
        e = ex.explain([row])[0]
        k = pred.classes.index(e.target)
        want = _brute_force(pred, background.astype(object), row, k)
        got = {c['field']: c['contribution'] for c in e.contributions}
        assert got == pytest.approx(want, abs=1e-5)
    # and the sampled estimate (what a model with many fields gets) is close to the exact one
    sampled = TabularExplainer(pred, background=background, budget=100)
    assert not sampled.exact
    row = df.iloc[0][fields].to_dict()
    a, b = (dict((c['field'], c['contribution']) for c in x.explain([row])[0].contributions)
            for x in (ex, sampled))
    assert b == pytest.approx(a, abs=0.03)


def test_without_training_rows_in_the_card_the_base_comes_from_its_statistics(adult_predictor):
    "An imported learner's card may hold statistics only, or nothing: explanations still add up."
    from predictors.kinds.tables.explain import TabularExplainer, background_frame
    fields = [c['name'] for c in adult_predictor.inputs]
    card = dict(adult_predictor.card, reference={k: v for k, v in adult_predictor.card['reference'].items()
                                                  if k != 'background'})
    df, what = background_frame(card, fields)
    assert what.startswith('64 draws from the training statistics') and len(df) == 64
    assert set(df['workclass']) <= set(next(c['values'] for c in adult_predictor.inputs if c['name'] == 'workclass'))
    df, what = background_frame(dict(card, reference=None), fields)
    assert len(df) == 1 and df.loc[0, 'age'] == 37 and what.startswith('the default input')
    e = TabularExplainer(adult_predictor, background=df).explain([{'age': 60, 'workclass': ' Private'}])[0]
    assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-4


def test_the_summary_names_what_raised_the_chance_most_in_plain_words():
    from predictors.core.results import Explanation, explanation_summary
    card = dict(schema=dict(inputs=[dict(name='marital-status', kind='categorical'), dict(name='hours-per-week',
                kind='continuous'), dict(name='education', kind='categorical'), dict(name='age', kind='continuous')]))
    e = Explanation(target='>=50k', probability=0.87, base=0.24, contributions=[
        dict(field='marital-status', value=' Married-civ-spouse', contribution=0.3),
        dict(field='hours-per-week', value=50.0, contribution=0.2),
        dict(field='age', value=23, contribution=-0.08),
        dict(field='education', value=' Bachelors', contribution=0.21)])
    assert explanation_summary(card, e) == ('Married-civ-spouse, Hours per week 50 and Bachelors raised the '
                                            'chance of >=50k most; Age 23 lowered it most.')
    card['labels'] = {'hours-per-week': 'Hours a week'}        # fields named as the form names them (#26 item 11)
    assert explanation_summary(card, e).startswith('Married-civ-spouse, Hours a week 50 and Bachelors raised')
    assert Explanation.from_dict(json.loads(json.dumps(e.to_dict()))) == e


def test_cli_explain_writes_json_lines_or_a_csv_of_contributions(tmp_path):
    lines = open(ADULT_CSV).read().splitlines()[:6]
    lines[3] = 'abc' + lines[3][lines[3].index(','):]
    (tmp_path / 'in.csv').write_text('\n'.join(lines) + '\n')
    r = run_cli('explain', 'adult_income', str(tmp_path / 'in.csv'))
    assert r.returncode == 1                                   # one row could not be explained
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x['row'] for x in rows] == [1, 2, 3, 4, 5] and rows[2]['error'] == "Age: 'abc' is not a number"
    ok = rows[0]
    assert abs(ok['base'] + sum(c['contribution'] for c in ok['contributions']) - ok['probability']) <= 1e-4
    r = run_cli('explain', 'adult_income', str(tmp_path / 'in.csv'), '--out', str(tmp_path / 'why.csv'))
    assert r.returncode == 1 and json.loads(r.stdout)['failed'] == 1
    why = pd.read_csv(tmp_path / 'why.csv')
    assert len(why) == 5 and why.loc[2, 'problem'].startswith('error: ')
    contrib = why.filter(like='contribution_')
    assert contrib.shape[1] == 14
    assert (why['base'] + contrib.sum(1) - why['probability']).drop(2).abs().max() <= 1e-4


# ---- images ---------------------------------------------------------------------------------------
def _square(colour, corner, size=64, side=18, seed=0):
    "A grey noisy picture with one coloured square, in `corner` ('tl', 'tr', 'bl', 'br') or at random."
    rng = np.random.default_rng(seed)
    a = (rng.normal(128, 20, (size, size, 3))).clip(0, 255).astype(np.uint8)
    if corner == 'random': x, y = rng.integers(0, size - side, 2)
    else: x, y = (2 if corner[1] == 'l' else size - side - 2), (2 if corner[0] == 't' else size - side - 2)
    a[y:y + side, x:x + side] = colour
    return Image.fromarray(a)


@pytest.fixture(scope='module')
def squares_predictor(tmp_path_factory):
    "A small CNN trained to tell a red square from a blue one, wherever it sits."
    import torch
    from torch import nn
    from fastai.vision.all import CrossEntropyLossFlat, ImageDataLoaders, Learner, Resize
    from predictors.kinds.image.predictor import ImagePredictor
    d = tmp_path_factory.mktemp('squares')
    for label, colour in (('red', (220, 30, 30)), ('blue', (30, 30, 220))):
        (d / label).mkdir()
        for i in range(60): _square(colour, 'random', seed=i + (0 if label == 'red' else 1000)).save(d / label / f'{i}.png')
    torch.manual_seed(0)
    dls = ImageDataLoaders.from_folder(d, valid_pct=0.2, seed=0, item_tfms=Resize(64), bs=16, num_workers=0)
    block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
    model = nn.Sequential(block(3, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2), block(32, 32),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(4, 1e-2)
    return ImagePredictor(learn, {})


@pytest.mark.parametrize('corner', ['tl', 'tr', 'bl', 'br'])
def test_the_heat_sits_where_the_object_is(squares_predictor, corner):
    "Grad-CAM's centre of mass lies in the corner where the square is."
    from predictors.kinds.pictures.explain import GradCam, heat_centre
    cam = GradCam(squares_predictor)
    probs, cams, seen = cam.explain_images([_square((220, 30, 30), corner, seed=7)])
    top = int(probs[0].argmax())
    assert squares_predictor.classes[top] == 'red' and list(cams[0]) == [top]
    heat = cams[0][top]
    x, y = heat_centre(heat)
    assert (x < 0.5) == (corner[1] == 'l') and (y < 0.5) == (corner[0] == 't'), (x, y)
    assert seen[0].shape == (64, 64, 3) and heat.shape == (64, 64) and 0 <= heat.min() <= heat.max() <= 1


def test_heatmaps_come_with_the_same_answers_as_classify(fruits_predictor):
    "The pass that draws the heatmap predicts as `classify` does; bad files fail alone; the PNG opens."
    from predictors.kinds import kind
    files = [(f.name, f.read_bytes()) for f in image_files()[:5]] + [('bad.png', b'nope')]
    results = fruits_predictor.decode_files(files)
    kind('image').explainer(fruits_predictor).explain_results(results)
    plain = fruits_predictor.predict_files(files)
    assert [r.ok for r in results] == [True] * 5 + [False]
    for a, b in zip(results[:5], plain):
        assert a.prediction == b.prediction
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)
        im = Image.open(io.BytesIO(a.heatmap))
        assert im.format == 'PNG' and min(im.size) >= 128
    assert results[5].heatmap is None and 'not an image file' in results[5].error


def test_cli_explain_writes_the_heatmaps_as_pngs(tmp_path):
    imgs = image_files()[:2]
    (tmp_path / 'bad.png').write_bytes(b'nope')
    r = run_cli('explain', 'fruits', *map(str, imgs), str(tmp_path / 'bad.png'), '--out', str(tmp_path / 'heat'))
    assert r.returncode == 1
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [('heatmap' in x, 'error' in x) for x in rows] == [(True, False), (True, False), (False, True)]
    for x in rows[:2]: assert Image.open(x['heatmap']).format == 'PNG'
    assert run_cli('explain', 'fruits', str(imgs[0])).returncode == 2      # images need --out

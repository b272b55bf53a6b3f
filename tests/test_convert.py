"""Bring any fastai model: exports of fastai 2.7 rebuilt for 2.8, and image models of several
architectures, input sizes and resize methods served over HTTP as `learn.predict` answers.

The fastai 2.7 files in tests/fixtures/fastai27/ were made once by its make.sh (a throwaway
environment with fastai 2.7.19), with the probabilities fastai 2.7 itself gave for 50 rows and
12 images.
"""
import json
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, run_cli
from harness.voila_server import ApiServer

FIX = ROOT / 'tests' / 'fixtures' / 'fastai27'


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    "The two fastai 2.7 exports imported (through the CLI) into a fresh store."
    from predictors import ModelStore
    root = tmp_path_factory.mktemp('converted') / 'models'
    run_cli('import', FIX / 'tabular.pkl', '--name', 'old_adult', '--csv', ROOT / 'data/adult_sample/adult.csv',
            models=root, check=0)
    run_cli('import', FIX / 'image.pkl', '--name', 'old_fruits', models=root, check=0)
    return ModelStore(root)


def test_a_fastai27_tabular_export_gives_the_probabilities_fastai27_gave(converted):
    from predictors import load_predictor
    want = json.loads((FIX / 'tabular_probs.json').read_text())
    rows = pd.read_csv(FIX / 'tabular_rows.csv')
    pred = load_predictor('old_adult', store=converted)
    assert pred.classes == want['classes'] == ['<50k', '>=50k']
    res = pred.predict_frame(rows)
    assert not res.errors and len(res) == 50
    assert np.abs(res.probs - np.array(want['probs'])).max() <= 1e-5
    # rows with an empty number are answered with FillMissing's fitted value, as fastai 2.7 did
    assert any('Education num was empty' in w for ws in res.warnings.values() for w in ws)
    card = converted.card('old_adult')
    assert card['converted_from']['fastai'] == '2.7' and card['converted_from']['file'] == 'tabular.pkl'
    assert [c['name'] for c in card['schema']['inputs']][:3] == ['age', 'workclass', 'fnlwgt']
    assert card['schema']['derived'] == ['education-num_na', 'hours-per-week_na']
    # the registered file is a fastai 2.8 learner: it loads with fastai's own load_learner
    from fastai.learner import load_learner
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = load_learner(converted.path('old_adult') / 'model.pkl')
    probs = learn.get_preds(dl=learn.dls.test_dl(rows.head(5)))[0].numpy()
    assert np.abs(probs - np.array(want['probs'][:5])).max() <= 1e-5


def test_a_fastai27_image_export_gives_the_probabilities_fastai27_gave(converted):
    from predictors import load_predictor
    want = json.loads((FIX / 'image_probs.json').read_text())
    pred = load_predictor('old_fruits', store=converted)
    res = pred.predict_files([(f, (FIX / 'images' / f).read_bytes()) for f in want['files']])
    assert len(res) == 12 and all(r.ok for r in res)
    got = np.array([[r.probabilities[c] for c in want['classes']] for r in res])
    assert np.abs(got - np.array(want['probs'])).max() <= 1e-5
    assert got.max(1).mean() > 0.3                       # a real model's answers, not uniform noise
    card = converted.card('old_fruits')
    assert card['schema']['input_size'] == [64, 64] and card['converted_from']['fastai'] == '2.7'
    assert len(card['classes']) == 36


def test_a_custom_transform_in_main_is_refused_with_its_name(tmp_path):
    r = run_cli('import', FIX / 'custom_tfm.pkl', '--name', 'custom', models=tmp_path / 'models', check=2)
    assert '`Posterize`' in r.stderr and '`__main__`' in r.stderr and 'importable module' in r.stderr
    assert not (tmp_path / 'models' / 'custom').exists()


def test_verify_checks_learner_files_before_they_are_imported():
    r = run_cli('verify', FIX / 'tabular.pkl', FIX / 'custom_tfm.pkl', check=1)
    lines = r.stdout.splitlines()
    assert any(l.startswith('PASS') and 'tabular.pkl: loads: exported by fastai 2.7' in l for l in lines)
    assert any(l.startswith('PASS') and 'tabular.pkl: answers:' in l for l in lines)
    assert any(l.startswith('FAIL') and 'custom_tfm.pkl' in l and 'Posterize' in l for l in lines)
    assert run_cli('verify', ROOT / 'models/fruits/v1/model.pkl', check=0).stdout.count('PASS') == 3


def test_callbacks_that_are_not_fastais_are_listed_as_left_out():
    "#24: a callback acts in fit and get_preds; the apps call the model itself, so it is left out, by name."
    from predictors.importing.convert import _callbacks
    from predictors.kinds.legacy import stand_in
    old = stand_in('fastai.learner', 'Learner')()
    old.__dict__['cbs'] = [stand_in('fastai.callback.core', 'TrainEvalCallback')(), stand_in('__main__', 'ClipOutputs')(),
                           stand_in('wandb.fastai', 'WandbCallback')()]
    assert _callbacks(old) == ['__main__.ClipOutputs (a callback: the apps call the model directly)',
                               'wandb.fastai.WandbCallback (a callback: the apps call the model directly)']
    old.__dict__['cbs'] = [stand_in('fastai.learner', 'Recorder')(), stand_in('fastai.callback.fp16', 'MixedPrecision')()]
    assert _callbacks(old) == []


def test_a_fastai28_export_is_not_taken_for_an_old_one():
    from predictors.importing.legacy import is_old_export
    assert is_old_export(FIX / 'image.pkl') and is_old_export(FIX / 'tabular.pkl')
    assert not is_old_export(ROOT / 'models/fruits/v1/model.pkl') and not is_old_export(ROOT / 'README.md')


# ---- fastai 2.8 exports of several architectures --------------------------------------------
ARCHS = [('resnet18', 64, 'squish'), ('efficientnet_b0', 96, 'pad'), ('convnext_tiny', 96, 'crop')]


def _all_in_both(items):
    "Every image in the training and the validation set (12 images, 12 classes)."
    return list(range(len(items))), list(range(len(items)))


@pytest.fixture(scope='module')
def arch_learners(tmp_path_factory):
    """Three torchvision architectures exported by fastai 2.8 (two input sizes, three resize methods),
    imported into a store served by the model server."""
    from fastai.vision.all import (CategoryBlock, DataBlock, ImageBlock, RegexLabeller, Resize,
                                   aug_transforms, get_image_files, vision_learner)
    from torchvision import models as tvm
    from predictors import ModelStore
    from predictors.importing.importer import import_learner
    d = tmp_path_factory.mktemp('archs')
    store = ModelStore(d / 'models')
    learners = {}
    for arch, size, method in ARCHS:
        dblock = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files,
                           get_y=RegexLabeller(r'([a-z_]+)\.png$'), splitter=_all_in_both,
                           item_tfms=Resize(size, method=method), batch_tfms=aug_transforms(size=size))
        dls = dblock.dataloaders(FIX / 'images', bs=4, num_workers=0)
        learn = vision_learner(dls, getattr(tvm, arch), pretrained=False)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
        learn.export(d / f'{arch}.pkl')
        import_learner(d / f'{arch}.pkl', arch, store=store)
        learners[arch] = learn
    env = dict(FASTAI_APPS_MODELS=d / 'models', FASTAI_APPS_LOG=d / 'log.db')
    with ApiServer(env=env, log=d / 'api.log') as srv:
        srv.http = httpx.Client(base_url=srv.url, timeout=300)
        yield srv, store, learners
        srv.http.close()


@pytest.mark.parametrize('arch,size,method', ARCHS)
def test_image_architectures_load_serve_and_match_learn_predict(arch_learners, arch, size, method):
    srv, store, learners = arch_learners
    learn = learners[arch]
    assert store.card(arch)['schema']['input_size'] == [size, size]
    files = sorted((FIX / 'images').glob('*.png'))
    r = srv.http.post(f'/v1/models/{arch}/predict', files=[('files', (f.name, f.read_bytes(), 'image/png')) for f in files])
    assert r.status_code == 200, r.text
    results = r.json()['results']
    assert len(results) == 12
    for f, res in zip(files, results):
        with learn.no_bar():
            _, _, probs = learn.predict(f)
        got = np.array([res['probabilities'][str(c)] for c in learn.dls.vocab])
        assert np.abs(got - probs.numpy()).max() <= 1e-5, (arch, f.name)


def test_a_multi_label_learner_of_another_architecture_imports_and_answers_as_learn_predict(tmp_path):
    "#27: a torchvision resnet with `MultiCategoryBlock` (labels: the words of the file names), as a notebook makes it."
    from fastai.vision.all import ColReader, DataBlock, ImageBlock, MultiCategoryBlock, Resize, vision_learner
    from torchvision import models as tvm
    from predictors import ModelStore, load_predictor
    files = sorted((FIX / 'images').glob('*.png'))
    df = pd.DataFrame(dict(fname=[f.name for f in files], labels=[f.stem.replace('_', ' ') for f in files]))
    dblock = DataBlock(blocks=(ImageBlock, MultiCategoryBlock), get_x=ColReader('fname', pref=f'{FIX / "images"}/'),
                       get_y=ColReader('labels', label_delim=' '), splitter=_all_in_both, item_tfms=Resize(32))
    learn = vision_learner(dblock.dataloaders(df, bs=4, num_workers=0), tvm.resnet18, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    learn.export(tmp_path / 'multi.pkl')
    run_cli('import', tmp_path / 'multi.pkl', '--name', 'multi', models=tmp_path / 'models', check=0)
    pred = load_predictor('multi', store=ModelStore(tmp_path / 'models'))
    assert pred.task == 'multilabel' and pred.card['threshold_source'].startswith("the loss's thresh (0.5)")
    for f, r in zip(files[:4], pred.predict_files([(f.name, f.read_bytes()) for f in files[:4]])):
        with learn.no_bar():
            decoded, _, probs = learn.predict(f)
        assert np.abs(np.array([r.probabilities[str(c)] for c in learn.dls.vocab]) - probs.numpy()).max() <= 1e-5
        assert sorted(r.labels) == sorted(map(str, decoded))

"""Multi-label image models (#27): every fruit in a picture, or none; per-label thresholds on the card; answers as
`learn.predict` gives them; feedback as the set of right labels, live F1 and per-label recall; Grad-CAM per label;
exports of fastai 2.8, 2.7 and 2.0–2.6 imported. The demo `mixed_fruits` learnt from pictures of 0–3 Fruits-360
photos (data/fruits360/make_composites.py); test_images/mix/ are such pictures of test photos it never saw."""
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import ROOT, TEST_IMAGES, run_cli

MIX = TEST_IMAGES / 'mix'
FIX = ROOT / 'tests' / 'fixtures' / 'fastai27'


def _files(*names):
    return [(n, (MIX / n).read_bytes()) for n in names]


@pytest.fixture(scope='module')
def mix(demo_store):
    from predictors import load_predictor
    return load_predictor('mixed_fruits', store=demo_store)


def test_the_demo_card_says_each_labels_threshold_and_the_held_out_scores(demo_store):
    card = demo_store.card('mixed_fruits')
    assert card['task'] == 'multilabel' and len(card['classes']) == 8 and 'Lemon' in card['classes']
    assert set(card['thresholds']) == set(card['classes']) and all(0 < t < 1 for t in card['thresholds'].values())
    assert card['threshold_source'].startswith('chosen per label on 300 validation pictures')
    m = card['metrics']
    assert m['test_images'] == 300 and m['f1'] >= 0.95 and m['exact_match'] >= 0.9 and m['none_right'] >= 0.9
    assert [p['cls'] for p in m['per_label']] == card['classes'] and all(p['recall'] >= 0.9 for p in m['per_label'])
    assert card['labels']['Apple Red 1'] == 'red apple'      # everyday names, as the single-label demo's


def test_every_fruit_in_the_picture_is_named_and_none_when_there_is_none(mix):
    from predictors.core.results import NONE_OF_THESE
    res = mix.predict_files(_files('mix_lemon_orange.jpg', 'mix_apple_red_1_kiwi_pear.jpg', 'mix_grape.jpg',
                                   'mix_none.jpg') + [('broken.jpg', b'\xff\xd8 not a jpeg')])
    assert [sorted(r.labels) for r in res[:4]] == [['Lemon', 'Orange'], ['Apple Red 1', 'Kiwi', 'Pear'], ['Grape'], []]
    assert res[0].prediction == 'Lemon;Orange' and res[3].prediction == NONE_OF_THESE
    for r in res[:4]:
        assert all(r.probabilities[c] >= mix.thresholds[c] for c in r.labels)
        assert all(r.probabilities[c] < mix.thresholds[c] for c in mix.classes if c not in r.labels)
        d = r.to_dict()
        assert d['labels'] == r.labels and d['probability'] is None and d['unsure'] is False
    assert not res[4].ok and 'broken.jpg' in res[4].error          # a bad file fails alone


def test_served_answers_equal_learn_predict(mix):
    "Each label's probability as `learn.predict` gives it (≤ 1e-5); with the loss's thresh, the same labels."
    from predictors.kinds.multilabel.predictor import MultiLabelPredictor
    learn = mix.learn
    at_half = MultiLabelPredictor(learn, {})        # no card: the loss's thresh, as learn.predict decides
    names = sorted(p.name for p in MIX.glob('*.jpg'))
    ours, plain = mix.predict_files(_files(*names)), at_half.predict_files(_files(*names))
    for n, r, h in zip(names, ours, plain):
        with learn.no_bar():
            decoded, _, probs = learn.predict(MIX / n)
        got = np.array([r.probabilities[c] for c in mix.classes])
        assert np.abs(got - probs.numpy()).max() <= 1e-5, n
        assert sorted(h.labels) == sorted(map(str, decoded)), n


def test_a_label_set_is_checked_and_kept_in_the_cards_order(demo_store):
    from predictors.kinds import kind
    k, card = kind('multilabel'), demo_store.card('mixed_fruits')
    assert k.check_truth(card, ['Orange', 'Lemon']) is None and k.check_truth(card, 'Orange;Lemon') is None
    assert k.check_truth(card, []) is None and k.check_truth(card, 'none of these') is None
    assert "'Banana' is not among the labels of mixed_fruits" in k.check_truth(card, ['Lemon', 'Banana'])
    assert k.check_truth(card, 3) == "3 is not a set of labels"
    assert k.stored_truth(card, ['Orange', 'Lemon', 'Lemon']) == 'Lemon;Orange' == k.stored_truth(card, 'Orange; Lemon')
    assert k.stored_truth(card, []) == 'none of these'


def test_feedback_is_the_set_of_right_labels_and_live_f1_follows_it(tmp_path, demo_store):
    "Labels given in the app's way become live F1, the share of pictures wholly right and each label's recall."
    from predictors import ModelStore
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.performance import performance_html, performance_report, performance_text
    from predictors.service.local import LocalModels
    log = PredictionLog(tmp_path / 'log.db')
    models = LocalModels(ModelStore(demo_store.root), log)
    res = models.predict('mixed_fruits', _files('mix_lemon_orange.jpg', 'mix_grape.jpg', 'mix_none.jpg'))
    truths = [['Lemon', 'Orange'], 'Grape;Pear', []]          # right, one label missed, right (none)
    assert models.feedback('mixed_fruits', [(r.id, t) for r, t in zip(res, truths)]) == [None, None, None]
    assert models.feedback('mixed_fruits', [(res[0].id, ['Banana'])])[0].startswith("'Banana' is not among")
    card = demo_store.card('mixed_fruits')
    rep = performance_report(log.labelled('mixed_fruits'), card)
    assert rep['labelled'] == 3 and rep['f1'] == pytest.approx(2 * 3 / (3 + 4)) and rep['exact'] == pytest.approx(2 / 3)
    per = {p['cls']: p for p in rep['per_label']}
    assert per['Pear']['recall'] == 0 and per['Grape']['recall'] == 1 and per['Lemon']['precision'] == 1
    assert rep['verdict'] == 'not enough labels' and rep['card_f1'] == card['metrics']['f1']
    html = performance_html(rep)
    assert 'Live F1' in html and 'every label right on 66.7%' in html and '<td>pear</td>' in html
    assert 'F1 85.7%' in performance_text(rep)


def _labelled(n, wrong_every=0):
    truth = ['Lemon;Orange'] * n
    pred = ['Lemon' if wrong_every and i % wrong_every == 0 else 'Lemon;Orange' for i in range(n)]
    return pd.DataFrame(dict(ts=[1.7e9 + i for i in range(n)], prediction=pred, truth=truth))


@pytest.mark.parametrize('wrong_every, verdict', [(0, 'ok'), (2, 'below the card'), (20, 'ok')])
def test_live_f1_is_flagged_below_the_card_only_when_the_labels_say_so(wrong_every, verdict):
    from predictors.kinds.multilabel.performance import label_performance
    from predictors.kinds.base import PerformanceSettings
    card = dict(name='m', version='v1', task='multilabel', classes=['Lemon', 'Orange'], metrics=dict(f1=0.95))
    rep = label_performance(_labelled(60, wrong_every), card, PerformanceSettings())
    assert rep['verdict'] == verdict, rep['p_value']


def _two_fruits(top_left: str, bottom_right: str) -> Image.Image:
    "A composite with one fruit in the top-left quarter and another in the bottom-right one (test photos)."
    photo = lambda c: sorted((ROOT / 'data/fruits360/Test' / c).glob('*.jpg'))[1::2][7]
    sheet = Image.new('RGB', (96, 96), 'white')
    sheet.paste(Image.open(photo(top_left)).convert('RGB').resize((46, 46)), (1, 1))
    sheet.paste(Image.open(photo(bottom_right)).convert('RGB').resize((46, 46)), (49, 49))
    return sheet


def test_each_label_has_its_own_heatmap_where_that_fruit_is(mix):
    import io
    from predictors.kinds import kind
    from predictors.kinds.pictures.explain import heat_centre
    buf = io.BytesIO(); _two_fruits('Lemon', 'Strawberry').save(buf, 'PNG')
    r = mix.decode_files([('two.png', buf.getvalue())])
    cam = kind('multilabel').explainer(mix)
    cam.explain_results(r)
    assert sorted(r[0].labels) == ['Lemon', 'Strawberry'] and set(r[0].heatmaps) == {'Lemon', 'Strawberry'}
    assert Image.open(io.BytesIO(r[0].heatmaps['Lemon'])).format == 'PNG'
    probs, cams, _ = cam.explain_images([_two_fruits('Lemon', 'Strawberry')])
    at = {mix.classes[c]: heat_centre(m) for c, m in cams[0].items()}
    assert at['Lemon'][0] < 0.5 and at['Lemon'][1] < 0.5, at
    assert at['Strawberry'][0] > 0.5 and at['Strawberry'][1] > 0.5, at


def test_the_cli_answers_with_labels_and_writes_a_heatmap_per_label(tmp_path, demo_store):
    import shutil
    shutil.copytree(demo_store.root, tmp_path / 'models')
    r = run_cli('predict', 'mixed_fruits', MIX / 'mix_lemon_orange.jpg', MIX / 'mix_none.jpg', '--no-log',
                models=tmp_path / 'models', check=0)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [sorted(x['labels']) for x in lines] == [['Lemon', 'Orange'], []]
    assert lines[1]['prediction'] == 'none of these' and lines[0]['unsure'] is False
    r = run_cli('explain', 'mixed_fruits', MIX / 'mix_lemon_orange.jpg', '--out', tmp_path / 'heat',
                models=tmp_path / 'models', check=0)
    line = json.loads(r.stdout)
    assert set(line['heatmaps']) == {'Lemon', 'Orange'}
    assert sorted(p.name for p in (tmp_path / 'heat').glob('*_heatmap_*.png')) == [
        '0001_mix_lemon_orange_heatmap_lemon.png', '0001_mix_lemon_orange_heatmap_orange.png']


def test_a_fastai28_multi_label_export_imports_with_the_losss_threshold(tmp_path, mix, demo_store):
    "Someone's own export: recognised as multi-label, the loss's thresh on the card for every label, same answers."
    from predictors import ModelStore, load_predictor
    from predictors.core.store import load_learner_file
    learn = load_learner_file(demo_store.path('mixed_fruits') / 'model.pkl')
    learn.loss_func.thresh = 0.4                       # as its exporter set it
    learn.export(tmp_path / 'theirs.pkl')
    run_cli('import', tmp_path / 'theirs.pkl', '--name', 'theirs', models=tmp_path / 'models', check=0)
    store = ModelStore(tmp_path / 'models')
    card = store.card('theirs')
    assert card['task'] == 'multilabel' and card['target'] == 'labels'
    assert set(card['thresholds'].values()) == {0.4} and card['threshold_source'].startswith("the loss's thresh (0.4)")
    got = load_predictor('theirs', store=store).predict_files(_files('mix_lemon_orange.jpg'))[0]
    want = mix.predict_files(_files('mix_lemon_orange.jpg'))[0]
    assert got.probabilities == pytest.approx(want.probabilities, abs=1e-6) and sorted(got.labels) == ['Lemon', 'Orange']
    r = run_cli('verify', tmp_path / 'theirs.pkl', check=0)
    assert r.stdout.count('PASS') == 3 and 'a model the apps serve: multi-label image classifier of 8 labels' in r.stdout


@pytest.mark.parametrize('edit', ['as made by fastai 2.7', 'renamed as the fastai2 pre-release wrote it'])
def test_a_fastai27_multi_label_export_gives_the_probabilities_fastai27_gave(tmp_path, edit):
    from pickle_edit import edit_export, rename_globals
    from predictors import ModelStore, load_predictor
    want = json.loads((FIX / 'multilabel_probs.json').read_text())
    path = FIX / 'multilabel.pkl'
    if edit != 'as made by fastai 2.7':
        path = edit_export(path, tmp_path / 'old.pkl', rename_globals({'fastai.': 'fastai2.'}))
    run_cli('import', path, '--name', 'old_mix', models=tmp_path / 'models', check=0)
    store = ModelStore(tmp_path / 'models')
    card = store.card('old_mix')
    assert card['task'] == 'multilabel' and card['classes'] == want['classes']
    assert card['converted_from']['fastai'] == '2.7' and set(card['thresholds'].values()) == {want['thresh']}
    res = load_predictor('old_mix', store=store).predict_files(_files(*want['files']))
    got = np.array([[r.probabilities[c] for c in want['classes']] for r in res])
    assert np.abs(got - np.array(want['probs'])).max() <= 1e-5
    assert [sorted(r.labels) for r in res] == [sorted(x) for x in want['decoded']]

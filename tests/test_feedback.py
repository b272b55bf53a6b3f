"""Feedback and live accuracy (#15): labels of logged answers, by id and by CSV; verdicts against the card."""
import json
import math
import time

import pandas as pd
import pytest

from helpers import TEST_IMAGES, run_cli, image_files
from predictors.monitoring.log import PredictionLog
from predictors.kinds.base import PerformanceSettings
from predictors.monitoring.performance import performance_html, performance_report
from predictors.service.local import LocalModels


@pytest.fixture(scope='module')
def held_out(adult_df):
    "The adult model's held-out rows (its 20 % validation split, seed 42), which it never trained on."
    from fastai.tabular.all import RandomSplitter, range_of
    df = adult_df.dropna(subset=['salary']).reset_index(drop=True)
    return df.iloc[list(RandomSplitter(valid_pct=0.2, seed=42)(range_of(df))[1])].reset_index(drop=True)


def test_feedback_by_id_labels_this_sessions_answers_only(log_target, demo_store):
    "Both backends: an answer's id comes back with it; a visitor labels their own answers, with a known class."
    log = PredictionLog(log_target)
    mine, other = (LocalModels(demo_store, log, session=s) for s in ('mine', 'other'))
    answers = mine.predict('adult_income', [{'age': 30}, {'age': 60}, {'age': 'x'}])
    assert [a.id is not None for a in answers] == [True, True, True] and len(set(a.id for a in answers)) == 3
    a, b, bad = answers
    assert mine.feedback('adult_income', [(a.id, '>=50k'), (b.id, b.prediction), (b.id, 'rich'), (bad.id, '<50k'),
                                          (10**6, '<50k')]) == [
        None, None, "'rich' is not one of the classes of adult_income (<50k, >=50k)",
        f'no answer {bad.id} of adult_income in the log', 'no answer 1000000 of adult_income in the log']
    assert other.feedback('adult_income', [(a.id, '<50k')]) == [f'answer {a.id} was not given in this session']
    assert mine.feedback('fruits', [(a.id, 'Lemon')]) == [f'no answer {a.id} of fruits in the log']
    mine.feedback('adult_income', [(a.id, '<50k')])                  # a corrected label: the latest counts
    got = log.labelled('adult_income')
    assert got[['id', 'prediction', 'truth']].values.tolist() == [[a.id, a.prediction, '<50k'],
                                                                    [b.id, b.prediction, b.prediction]]
    assert got['inputs'][0]['age'] == 30 and got['version'].tolist() == ['v1', 'v1']
    img = mine.predict('fruits', [('x.png', b'nope')])[0]           # a rejected file has no answer to label
    assert mine.feedback('fruits', [(img.id, 'Lemon')]) == [f'no answer {img.id} of fruits in the log']
    log.prune(time.time() + 1)                                       # pruning answers drops their labels
    assert len(log.labelled('adult_income')) == 0 and log.count() == 0


def _label(log, models, rows: pd.DataFrame, truth) -> list:
    answers = models.predict('adult_income', rows.drop(columns='salary').to_dict('records'))
    return models.feedback('adult_income', [(a.id, t) for a, t in zip(answers, truth(rows, answers))], True)


def test_labels_from_the_held_out_split_are_not_flagged_and_a_model_wrong_40_percent_is(tmp_path, demo_store, held_out):
    card = demo_store.card('adult_income')
    log = PredictionLog(tmp_path / 'ok.db')
    models = LocalModels(demo_store, log)
    rows = held_out.sample(800, random_state=3)
    assert _label(log, models, rows, lambda r, a: r['salary'].tolist()) == [None] * 800
    r = performance_report(log.labelled('adult_income'), card)
    assert r['verdict'] == 'ok' and r['labelled'] == 800 and abs(r['accuracy'] - card['metrics']['accuracy']) < 0.04
    assert r['p_value'] > 0.05
    # the same people, and the model is wrong for 40 % of them
    log = PredictionLog(tmp_path / 'bad.db')
    models = LocalModels(demo_store, log)
    flip = {'<50k': '>=50k', '>=50k': '<50k'}
    wrong = lambda r, a: [flip[x.prediction] if i % 5 < 2 else x.prediction for i, x in enumerate(a)]
    _label(log, models, rows, wrong)
    r = performance_report(log.labelled('adult_income'), card)
    assert r['verdict'] == 'below the card' and r['accuracy'] == pytest.approx(0.6) and r['p_value'] < 1e-6
    # per class and the confusion matrix count the same labels
    assert sum(map(sum, r['confusion'])) == 800 and sum(c['support'] for c in r['per_class']) == 800
    assert r['by_day'][0]['n'] == 800


def test_the_p_value_is_the_binomial_tail_computed_by_hand():
    "30 labels, 21 right, against a card's 85.5 %: P(X ≤ 21) for X ~ Binomial(30, 0.855)."
    card = dict(name='m', version='v1', classes=['a', 'b'], metrics=dict(accuracy=0.855))
    df = pd.DataFrame(dict(ts=[time.time()] * 30, prediction=['a'] * 30, truth=['a'] * 21 + ['b'] * 9))
    r = performance_report(df, card)
    want = sum(math.comb(30, k) * 0.855 ** k * 0.145 ** (30 - k) for k in range(22))
    assert r['p_value'] == pytest.approx(want, rel=1e-9) and r['verdict'] == 'below the card'
    assert performance_report(df.head(29), card)['verdict'] == 'not enough labels'
    assert performance_report(df, card, PerformanceSettings(alpha=1e-4))['verdict'] == 'ok'
    a, b = r['per_class']
    assert (a['precision'], a['recall'], b['precision'], b['recall']) == (0.7, 1.0, None, 0.0)
    assert r['confusion'] == [[21, 0], [9, 0]]


def test_cli_feedback_by_id_and_by_inputs_then_performance(tmp_path, demo_store, held_out):
    "Labels that arrive later: a CSV with ids, or with the input columns; then `performance` judges them."
    log = tmp_path / 'log.db'
    rows = held_out.head(60)
    rows.to_csv(tmp_path / 'people.csv', index=False)
    r = run_cli('predict', 'adult_income', tmp_path / 'people.csv', log=log, check=0)
    assert len(r.stdout.splitlines()) == 60
    # by inputs: the salary column is the truth; one row matches no logged answer
    labels = rows.copy()
    labels.loc[labels.index[5], 'age'] = 99
    labels.to_csv(tmp_path / 'labels.csv', index=False)
    r = run_cli('feedback', 'adult_income', tmp_path / 'labels.csv', log=log)
    assert r.returncode == 1 and json.loads(r.stdout) == dict(model='adult_income', labelled=59, refused=1)
    assert 'row 6: no logged answer with these inputs' in r.stderr
    r = run_cli('performance', 'adult_income', '--html', tmp_path / 'perf.html', log=log)
    assert r.returncode == 0 and 'ok — accuracy' in r.stdout and 'on 59 labelled' in r.stdout
    assert 'Confusion' in (tmp_path / 'perf.html').read_text()
    # by id: every answer labelled wrong → far below the card, exit 1
    got = PredictionLog(log).labelled('adult_income')
    flip = {'<50k': '>=50k', '>=50k': '<50k'}
    pd.DataFrame(dict(id=got['id'], truth=[flip[p] for p in got['prediction']])).to_csv(tmp_path / 'ids.csv', index=False)
    r = run_cli('feedback', 'adult_income', tmp_path / 'ids.csv', log=log, check=0)
    r = run_cli('performance', 'adult_income', log=log)
    assert r.returncode == 1 and r.stdout.startswith('adult_income v1: below the card — accuracy 0.0% on 59')
    (tmp_path / 'nolabel.csv').write_text('age\n30\n')
    r = run_cli('feedback', 'adult_income', tmp_path / 'nolabel.csv', log=log)
    assert r.returncode == 2 and 'the labels need a column "truth" (or "salary")' in r.stderr


# ---- safe version changes: compare, shadow, retrain from feedback -------------------------------------
def test_compare_picks_the_better_version_with_mcnemars_exact_p(store_copy, held_out, tmp_path):
    "A version trained on shuffled labels against the demo model on held-out rows: the better one wins."
    from predictors.monitoring.compare import compare_versions
    from predictors.kinds.tables.train import train_tabular
    shuffled = held_out.sample(2000, random_state=0).reset_index(drop=True)
    shuffled['salary'] = shuffled['salary'].sample(frac=1, random_state=1).to_numpy()
    shuffled.to_csv(tmp_path / 'shuffled.csv', index=False)
    bad = train_tabular(tmp_path / 'shuffled.csv', 'salary', 'adult_income', store=store_copy, epochs=1,
                        activate=False, log=lambda m: None)
    assert store_copy.active_version('adult_income') == 'v1' and bad == 'v2'
    rows = held_out.sample(600, random_state=7)
    r = compare_versions(store_copy, 'adult_income', 'v1', bad, rows)
    assert r['compared'] == 600 and r['verdict'] == 'B is worse' and r['accuracy_a'] > r['accuracy_b']
    m = r['mcnemar']
    n, k = m['a_only'] + m['b_only'], m['a_only']
    by_hand = sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n            # P(X ≥ a_only), X ~ Bin(n, ½)
    assert m['p_b_worse'] == pytest.approx(by_hand, rel=1e-9) and m['p_b_worse'] < 1e-6
    assert m['p'] == pytest.approx(min(1, 2 * min(by_hand, sum(math.comb(n, i) for i in range(m['b_only'], n + 1)) / 2 ** n)))
    assert compare_versions(store_copy, 'adult_income', bad, 'v1', rows)['verdict'] == 'B is better'
    assert r['columns_added'] == r['columns_removed'] == [] and 0 < r['agreement'] < 1
    rows.to_csv(tmp_path / 'rows.csv', index=False)
    out = run_cli('--models', store_copy.root, 'compare', 'adult_income', 'v1', bad, '--csv', tmp_path / 'rows.csv')
    assert out.returncode == 1 and 'verdict    B is worse' in out.stdout
    assert run_cli('--models', store_copy.root, 'compare', 'adult_income', bad, 'v1', '--csv', tmp_path / 'rows.csv').returncode == 0


def test_a_shadow_version_answers_beside_the_active_one_and_never_costs_an_answer(store_copy, tmp_path):
    "Images through a shadow: both answers logged, paired by id; a shadow that cannot load only warns."
    from predictors.monitoring.compare import shadow_report
    from predictors.core.store import MODEL_FILE, ModelError
    card = store_copy.card('fruits')
    v2 = store_copy.register('fruits', store_copy.path('fruits', 'v1') / MODEL_FILE, card, activate=False)
    with pytest.raises(ModelError, match='is the active version'): store_copy.set_shadow('fruits', 'v1')
    store_copy.set_shadow('fruits', v2)
    log = PredictionLog(tmp_path / 'log.db')
    models = LocalModels(store_copy, log)
    files = [(f.name, f.read_bytes()) for f in image_files()[:4]] + [('bad.png', b'x')]
    shown = models.predict('fruits', files)
    pairs = log.shadow_pairs('fruits')
    assert pairs['id'].tolist() == [r.id for r in shown if r.ok] and set(pairs['shadow_version']) == {v2}
    assert (pairs['prediction'] == pairs['shadow_prediction']).all()          # the same weights agree
    other = next(c for c in card['classes'] if c != shown[1].prediction)        # a wrong answer, by its label
    models.feedback('fruits', [(shown[0].id, shown[0].prediction), (shown[1].id, other)])
    rep = shadow_report(log.shadow_pairs('fruits'))
    assert (rep['answers'], rep['agreement'], rep['labelled'], rep['accuracy_shadow']) == (4, 1.0, 2, 0.5)
    assert set(log.read('fruits')['version']) == {'v1'}                       # what visitors saw
    v3 = store_copy.register('fruits', store_copy.path('fruits', 'v1') / MODEL_FILE, card, activate=False)
    (store_copy.path('fruits', v3) / MODEL_FILE).write_bytes(b'tampered')
    store_copy.set_shadow('fruits', v3)
    with pytest.warns(RuntimeWarning, match='shadow version of fruits could not answer'):
        again = models.predict('fruits', files[:1])
    assert again[0].ok and len(log.shadow_pairs('fruits')) == 4
    store_copy.set_shadow('fruits', v2)
    store_copy.activate('fruits', v2)                                          # promoting ends the shadow
    assert store_copy.shadow_version('fruits') is None


def test_retraining_adds_the_labelled_answers_once(tmp_path, held_out):
    "train-tabular --add-feedback: the log's labelled inputs join the training data, repeats dropped."
    from predictors import ModelStore
    log = PredictionLog(tmp_path / 'log.db')
    store = ModelStore(tmp_path / 'models')
    base = held_out.head(300)
    base.to_csv(tmp_path / 'base.csv', index=False)
    run_cli('train-tabular', '--csv', tmp_path / 'base.csv', '--target', 'salary', '--name', 'm', '--epochs', '1',
            models=store.root, check=0)
    models = LocalModels(store, log)
    people = pd.concat([held_out.iloc[300:303], held_out.iloc[[300]], base.iloc[[0]]])  # a repeat, a training row
    answers = models.predict('m', people.drop(columns='salary').to_dict('records'))
    models.feedback('m', [(a.id, t) for a, t in zip(answers, people['salary'])])
    r = run_cli('train-tabular', '--csv', tmp_path / 'base.csv', '--target', 'salary', '--name', 'm', '--epochs', '1',
                '--add-feedback', 'm', '--log', tmp_path / 'log.db', '--no-activate', models=store.root, check=0)
    assert '4 labelled answer(s) of m added' in r.stderr                   # 5 labels, one a repeat
    card = store.card('m', 'v2')
    assert card['data_source']['feedback_rows'] == 3 and card['data_source']['rows'] == 303   # the training row too
    assert store.active_version('m') == 'v1'


def test_an_unsure_answer_asks_what_it_is_and_takes_none_of_these(store_copy, tmp_path):
    """*Yes* under "Not sure — closest: chestnut" stored chestnut as the truth, and *No, it was* offered only
    the other classes (#26 item 3). Under a Not sure answer the box asks *What is it?* (every class, the
    closest first, no Yes); an image's box also takes *none of these*, which live accuracy counts as wrong."""
    from predictors.core.results import NONE_OF_THESE
    from predictors.kinds import kind
    from widgets.feedback import FeedbackBox
    from widgets.image import ImageApp
    card_file = store_copy.path('fruits') / 'card.json'       # every answer below the bar: Not sure
    card_file.write_text(json.dumps(dict(json.loads(card_file.read_text()), min_confidence=1.01)))
    models = LocalModels(store_copy, PredictionLog(tmp_path / 'log.db'))
    app = ImageApp(models)
    pics = sorted(TEST_IMAGES.glob('photo_*.jpg'))[:2]
    app.classify([(p.name, p.read_bytes()) for p in pics], [])
    unsure, sure = (FeedbackBox(app.card, 1, 'Lemon', None, unsure=u) for u in (True, False))
    assert unsure.yes.layout.display == 'none' and 'What is it?' in unsure.widget.children[0].children[0].value
    assert [v for _, v in unsure.no.options][1:3] == ['Lemon', app.card['classes'][0]] and unsure.no.description == 'It is'
    assert [v for _, v in sure.no.options][-1] == NONE_OF_THESE and 'Lemon' not in [v for _, v in sure.no.options]
    shown = app._shown[4]                                     # the boxes under the two cards
    box = shown[0].children[0].children
    assert 'What is it?' in box[0].value and box[2].description == 'It is'
    box[2].value = NONE_OF_THESE
    assert 'recorded as none of its classes' in shown[0].children[1].value
    got = models.log.labelled('fruits')
    assert got['truth'].tolist() == [NONE_OF_THESE]
    perf = kind('image').performance(got, store_copy.card('fruits'), PerformanceSettings())
    assert perf['correct'] == 0 and NONE_OF_THESE in perf['classes']
    assert kind('tabular').check_truth(store_copy.card('adult_income'), NONE_OF_THESE)


def test_the_monitor_names_classes_as_people_read_them_and_only_those_labelled(demo_store):
    """For a 36-class model one label drew a 36×36 confusion matrix past the right edge, and classes read
    `bell_pepper` (#26 items 11, 12): the tables hold the classes the labels name, in the card's words."""
    from predictors.kinds import kind
    card = demo_store.card('fruits')
    assert 'Apple Red 1' in card['classes'] and len(card['classes']) == 20 and card['labels']['Apple Red 1'] == 'red apple'
    labelled = pd.DataFrame(dict(ts=[time.time()] * 2, prediction=['Apple Red 1', 'Lemon'], truth=['Apple Red 1', 'Apple Red 1']))
    html = performance_html(kind('image').performance(labelled, card, PerformanceSettings()))
    confusion = html.split('app-confusion', 1)[1].split('</table>', 1)[0]
    assert confusion.split('<tbody>')[1].count('<tr>') == 2 and '<th>red apple</th>' in confusion and 'Apple Red 1' not in html
    assert html.split('app-perf-classes', 1)[1].split('</table>', 1)[0].count('<tr><td>') == 2

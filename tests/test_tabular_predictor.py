"The tabular predictor: equal to learn.predict, checked inputs, batch scoring, another learner shape."
import numpy as np
import pandas as pd
import pytest

from predictors import ModelError
from predictors.core.csvio import read_csv_checked
from predictors.core.results import field_said


def _learn_probs(learn, row):
    return learn.predict(row)[2].numpy()


@pytest.fixture(scope='module')
def sample(adult_df):
    return adult_df.sample(40, random_state=1).reset_index(drop=True)


def test_schema_has_exact_training_values(adult_predictor):
    cols = {c['name']: c for c in adult_predictor.schema['inputs']}
    wc = cols['workclass']
    assert wc['kind'] == 'categorical' and ' Private' in wc['values'] and '#na#' not in wc['values']
    assert all(v.startswith(' ') for v in wc['values'])
    age = cols['age']
    assert age['kind'] == 'continuous' and age['integer'] is True
    assert age['min'] == 17 and age['max'] == 90 and 30 <= age['median'] <= 45
    assert len([c for c in cols.values() if c['kind'] == 'categorical']) == 8
    assert len([c for c in cols.values() if c['kind'] == 'continuous']) == 6
    assert adult_predictor.classes == ['<50k', '>=50k']


def test_probabilities_equal_learn_predict(adult_learner, adult_predictor, sample):
    res = adult_predictor.predict_frame(sample)
    assert not res.errors
    for i in range(len(sample)):
        want = _learn_probs(adult_learner, sample.iloc[i])
        assert np.abs(res.probs[i] - want).max() <= 1e-5
        one = adult_predictor.predict_one(sample.iloc[i].to_dict())
        got = np.array([one.probabilities[c] for c in adult_predictor.classes])
        assert np.abs(got - want).max() <= 1e-5


def test_large_batch_path_equals_small_batch_path(adult_predictor, adult_df):
    big = adult_df.head(3000)
    res_big = adult_predictor.predict_frame(big)          # pandas Categorical encoding
    res_small = [adult_predictor.predict_frame(big.iloc[s:s + 300]) for s in range(0, 3000, 300)]
    assert np.abs(res_big.probs - np.concatenate([r.probs for r in res_small])).max() <= 1e-6


def test_bad_numbers_fail_the_row_alone(adult_predictor, sample):
    df = sample.head(5).astype({'age': object, 'hours-per-week': object}).copy()
    df.loc[1, 'age'] = 'forty'
    df.loc[3, 'hours-per-week'] = float('inf')
    res = adult_predictor.predict_frame(df)
    assert set(res.errors) == {1, 3}
    assert "Age: 'forty' is not a number" in res.errors[1]
    assert 'not a finite number' in res.errors[3]
    assert all(res[i].ok for i in (0, 2, 4))


@pytest.mark.parametrize('value', [10 ** 400, 1e300, -1e300, '1e999', float('-inf')])
def test_absurd_numbers_are_refused_not_answered(adult_predictor, value):
    p = adult_predictor.predict_one({'age': 30, 'capital-gain': value})
    assert not p.ok and p.error.startswith('Capital gain ($) (capital-gain)') and p.prediction is None
    df = pd.DataFrame({c['name']: [c['default']] * 3 for c in adult_predictor.inputs})
    df['capital-gain'] = pd.Series([0, value, 5], dtype=object)
    res = adult_predictor.predict_frame(df)
    assert set(res.errors) == {1} and np.isfinite(res.probs[[0, 2]]).all()


def test_warnings_for_unknown_category_empty_number_and_range(adult_predictor):
    p = adult_predictor.predict_one({'age': 150, 'workclass': ' Space-agency', 'hours-per-week': float('nan')})
    assert p.ok and p.prediction in adult_predictor.classes
    text = ' | '.join(p.warnings)
    assert 'Age 150 is outside the training range 17–90' in text
    assert "Type of employer (workclass): ' Space-agency' was not seen in training" in text
    assert 'Hours worked per week (hours-per-week) was empty: used the training median 40' in text


def test_value_without_leading_space_is_matched(adult_predictor, sample):
    row = sample.iloc[0].to_dict()
    stripped = {k: v.strip() if isinstance(v, str) else v for k, v in row.items()}
    a, b = adult_predictor.predict_one(row), adult_predictor.predict_one(stripped)
    assert not b.warnings
    assert a.probabilities == pytest.approx(b.probabilities, abs=1e-7)


def test_sentence_uses_card_template(adult_predictor, sample):
    from predictors.core.results import sentence
    p = adult_predictor.predict_one(sample.iloc[0].to_dict())
    s = sentence(adult_predictor.card, p)
    assert s.startswith(f'Predicted salary: {p.prediction}') and f'{p.probability * 100:.1f}%' in s
    tpl = adult_predictor.card['templates'][p.prediction]
    assert f'{p.prediction} ({tpl})' in s


def test_many_records_at_once_equal_one_at_a_time(adult_predictor, sample):
    "`predict_records` (the form and the API's JSON) gives each record the answer it gets alone."
    rows = [sample.iloc[i].to_dict() for i in range(10)]
    rows[3] = dict(rows[3], age='thirty')
    many = list(adult_predictor.predict_records(rows))
    for r, m in zip(rows, many):
        one = adult_predictor.predict_one(r)
        assert m.error == one.error and m.prediction == one.prediction
        assert m.probabilities == pytest.approx(one.probabilities, abs=1e-6)
    assert many[3].error == "Age: 'thirty' is not a number"


def test_score_frame_adds_prediction_and_class_columns(adult_predictor, sample):
    df = sample.head(6).astype({'age': object}).copy(); df.loc[2, 'age'] = ''
    df.loc[4, 'age'] = 'x'
    out = adult_predictor.score_frame(df)
    assert list(out.columns[-4:]) == ['prediction', 'probability_<50k', 'probability_>=50k', 'problem']
    assert out['prediction'].isna().tolist() == [False, False, False, False, True, False]
    assert out['problem'][4].startswith('error: ') and 'was empty' in out['problem'][2]
    ok = out.drop(index=4)
    assert np.allclose(ok['probability_<50k'] + ok['probability_>=50k'], 1, atol=1e-5)


def test_missing_column_is_a_clear_error(adult_predictor, sample):
    with pytest.raises(ModelError, match='lacks the columns age, education'):
        adult_predictor.predict_frame(sample.drop(columns=['age', 'education']))


@pytest.mark.parametrize('data,msg', [(b'', 'is empty'), (b'age,workclass\n', 'no rows'),
                                      ('age,name\n1,J\xf6rg\n'.encode('latin-1'), 'not UTF-8'),
                                      (b'a,b\n1,2,3,4\n"unterminated', 'not a readable CSV')])
def test_unreadable_csv_is_explained(data, msg):
    with pytest.raises(ModelError, match=msg):
        read_csv_checked(data)


def test_a_learner_of_another_shape_works_without_code_change(tmp_store):
    "A second tabular model (iris: 4 numeric columns, 3 classes) gets a schema and correct predictions."
    from sklearn.datasets import load_iris
    from predictors.kinds.tables.train import train_tabular
    from predictors import load_predictor
    import tempfile
    iris = load_iris(as_frame=True).frame
    iris['species'] = [load_iris().target_names[t] for t in iris.pop('target')]
    with tempfile.NamedTemporaryFile('w', suffix='.csv', delete=False) as f:
        iris.to_csv(f, index=False)
    train_tabular(f.name, 'species', 'iris', store=tmp_store, epochs=20, log=lambda m: None)
    pred = load_predictor('iris', store=tmp_store)
    names = [c['name'] for c in pred.schema['inputs']]
    assert names == ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']
    assert pred.classes == ['setosa', 'versicolor', 'virginica']
    from widgets import TabularForm
    form = TabularForm(pred.schema)           # the same form builder, no code change
    assert list(form.controls) == names
    assert pred.predict_one(form.values()).ok
    learn = tmp_store.load_learner('iris')
    res = pred.predict_frame(iris)
    for i in range(0, 150, 15):
        assert np.abs(res.probs[i] - learn.predict(iris.iloc[i])[2].numpy()).max() <= 1e-5
    assert (np.array(pred.classes)[res.probs.argmax(1)] == iris['species']).mean() > 0.8


_HOSTILE_NUMBERS = [('', 'warn', 'was empty: used'), (float('nan'), 'warn', 'was empty: used'),
                    (float('inf'), 'err', 'is not a finite number'), (float('-inf'), 'err', 'is not a finite number'),
                    (1e300, 'err', 'is too far outside the training data'), (-5, 'warn', 'outside the training range'),
                    ('abc', 'err', "'abc' is not a number")]


def test_every_numeric_field_with_every_hostile_value(adult_predictor):
    "Each continuous input × empty, NaN, ±inf, huge, negative, text: the expected message, never a NaN answer."
    conts = [c['name'] for c in adult_predictor.inputs if c['kind'] == 'continuous']
    assert len(conts) == 6
    for col in conts:
        for value, kind, msg in _HOSTILE_NUMBERS:
            p = adult_predictor.predict_one({col: value})
            if kind == 'err':
                assert not p.ok and p.error.startswith(field_said(adult_predictor.card, col)) and msg in p.error, (col, value, p.error)
            else:
                assert p.ok and abs(sum(p.probabilities.values()) - 1) < 1e-5, (col, value, p.error)
                assert any(w.startswith(field_said(adult_predictor.card, col)) and msg in w for w in p.warnings), (col, value, p.warnings)

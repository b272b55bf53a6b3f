"""The tabular app with a regression (#24) in Chromium, served as `make serve` serves it: the bike-rentals form
answers a number of bikes with its range and why, takes the real number as feedback, and scores a CSV."""
import numpy as np
import pandas as pd
import pytest

from browser_helpers import shot
from helpers import ROOT

pytestmark = pytest.mark.browser
BIKES = ROOT / 'data' / 'bike_sharing' / 'hour.csv'


def _open_bikes(page, served):
    page.goto(served.app('tabular_app.ipynb'))
    page.wait_for_selector('.app-predict', state='visible', timeout=120_000)
    page.select_option('.widget-dropdown select >> nth=0', label='bike_rentals v1 (active)')
    page.wait_for_selector('p b:text-is("bike_rentals")')          # the title comes after the model's form


def _type(page, values):
    "Each field as a person sets it: a category (hour, season…) picked in its list, a number typed."
    for name, v in values.items():
        sel = page.locator(f'.app-input-{name} select')
        if sel.count():
            sel.select_option(label=str(v))
        else:
            inp = page.locator(f'.app-input-{name} input')
            inp.fill(str(v)); inp.press('Tab')


def test_a_number_of_bikes_with_its_range_why_and_the_real_number_as_feedback(page, served):
    from predictors import load_predictor
    from predictors.monitoring.log import PredictionLog
    _open_bikes(page, served)
    m = served.models.card('bike_rentals')['metrics']
    assert f'held-out error {round(m["mae"])} bikes on average (MAE, R² {m["r2"]:.2f})' in page.inner_text('body')
    values = dict(season=3, yr=1, mnth=7, hr=17, holiday=0, weekday=3, workingday=1, weathersit=1, temp=0.7,
                  atemp=0.65, hum=0.5, windspeed=0.2)
    _type(page, values)
    page.click('.app-predict')
    page.wait_for_selector('.app-result .app-sentence')
    text = page.inner_text('.app-result .app-sentence')
    p = load_predictor('bike_rentals', store=served.models).predict_one(values)
    lo, hi = (f'{round(x):,}' for x in p.range)
    assert text == f'About {round(p.prediction):,} bikes rented in that hour (80 % of similar hours: {lo}–{hi}).'
    assert page.locator('.app-result .app-bars').count() == 0            # no class bars for a number
    page.click('.app-why-open'); page.wait_for_selector('.app-why h3')
    assert page.inner_text('.app-why h3').startswith('Why: from the average ') and page.inner_text('.app-why h3').endswith(' bikes')
    assert page.locator('.app-why-row').first.get_attribute('data-field') == 'hr'
    assert page.inner_text('.app-why-pts >> nth=0').endswith(' bikes')
    shot(page, 'regression_app')
    page.fill('.app-feedback-value input', 'lots')
    page.click('.app-feedback-send')
    page.wait_for_selector('.app-feedback-error')
    assert "'lots' is not a number" in page.inner_text('.app-feedback-error')
    page.fill('.app-feedback-value input', '900')
    page.click('.app-feedback-send')
    page.wait_for_selector('.app-feedback-thanks')
    assert page.inner_text('.app-feedback-thanks') == (f'Thank you: recorded as 900 (the answer was off by '
                                                        f'{round(abs(900 - p.prediction)):,}).')
    last = PredictionLog(served.log_db).labelled('bike_rentals').iloc[-1]
    assert float(last['truth']) == 900 and float(last['prediction']) == pytest.approx(p.prediction, rel=1e-6)


def test_a_csv_of_hours_comes_back_with_numbers_and_ranges(page, served, tmp_path):
    from predictors import load_predictor
    df = pd.read_csv(BIKES).sample(300, random_state=2)
    _open_bikes(page, served)
    assert 'the range low–high where 80 % of held-out answers' in page.inner_text('body')
    with page.expect_file_chooser() as fc:
        page.click('.app-upload')
    fc.value.set_files([dict(name='hours.csv', mimeType='text/csv', buffer=df.to_csv(index=False).encode())])
    page.wait_for_selector('.app-batch-summary')
    assert page.inner_text('.app-batch-summary').startswith('300 of 300 rows scored')
    assert 'Columns not used by the model (kept as they are): dteday, casual, registered' in page.inner_text('.app-unused')
    with page.expect_download() as dl:
        page.click('.app-download')
    dl.value.save_as(tmp_path / 'scored.csv')
    scored = pd.read_csv(tmp_path / 'scored.csv')
    assert list(scored.columns[-4:]) == ['prediction', 'low', 'high', 'problem']
    want = load_predictor('bike_rentals', store=served.models).predict_frame(df)
    assert np.allclose(scored['prediction'], want.values, rtol=1e-5)
    assert (scored['low'] <= scored['prediction']).all() and (scored['prediction'] <= scored['high']).all()

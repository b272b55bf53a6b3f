"""The image app serving a multi-label model (#27), in a real browser: several labels for one picture, *None of the
known labels* for another, a heatmap per label, and feedback as the set of right labels."""
from helpers import TEST_IMAGES
from browser_helpers import shot
from test_apps import open_app, upload

MIX = TEST_IMAGES / 'mix'


def _pick_mixed_fruits(page, served):
    open_app(page, served, 'image_app.ipynb', '.app-upload')
    page.select_option('.widget-dropdown select >> nth=0', label='mixed_fruits v1 (active)')
    page.wait_for_selector('p b:text-is("mixed_fruits")')


def test_a_picture_of_several_fruits_reads_each_and_an_empty_one_none(page, served):
    from predictors.monitoring.log import PredictionLog
    card = served.models.card('mixed_fruits')
    _pick_mixed_fruits(page, served)
    says = page.inner_text('.app-model-says')
    assert 'names every one of its 8 labels it sees in a picture' in says
    assert f'F1 {card["metrics"]["f1"]:.1%}, every label right on {card["metrics"]["exact_match"]:.1%}' in says
    assert 'chosen per label on 300 validation pictures' in says
    names = ['mix_lemon_orange.jpg', 'mix_none.jpg', 'mix_apple_red_1_kiwi_pear.jpg']
    upload(page, [dict(name=n, mimeType='image/jpeg', buffer=(MIX / n).read_bytes()) for n in names])
    page.wait_for_selector('.app-summary-text')
    assert page.inner_text('.app-summary-text') == '3 image(s): 3 classified, 0 rejected.'
    cards = page.locator('.app-card-ok')
    two, none, three = (cards.nth(i) for i in range(3))
    assert sorted(two.locator('.app-answer').inner_text().split(', ')) == ['lemon', 'orange']
    assert two.locator('.app-bar-row').count() == 2                        # each label with its probability
    assert none.locator('.app-answer').inner_text() == 'None of the known labels'
    assert 'closest:' in none.inner_text() and none.locator('.app-bar-row').count() == 3
    assert sorted(three.locator('.app-answer').inner_text().split(', ')) == ['kiwi', 'pear', 'red apple']
    assert page.locator('.app-thumb').nth(1).get_attribute('alt') == 'mix_none.jpg: none of the known labels'
    shot(page, 'image_multilabel')
    # a heatmap per label it names (the empty sheet: where it looked for its closest label)
    page.click('.app-heatmap-toggle')
    page.wait_for_function("document.querySelectorAll('.app-heatmap').length == 6")
    captions = two.locator('figcaption').all_inner_texts()
    assert sorted(captions) == ['lemon', 'orange']
    assert 'where the model looked for lemon' in ' '.join(two.locator('.app-heatmap').evaluate_all(
        'es => es.map(e => e.alt)'))
    page.click('.app-heatmap-toggle')
    page.wait_for_function("document.querySelectorAll('.app-heatmap').length == 0")
    # feedback: the three fruits were right; the lemon-and-orange picture also shows a pear, says the person
    three.locator('.app-feedback-yes').click()
    three.locator('.app-feedback-thanks').wait_for()
    assert three.locator('.app-feedback-thanks').inner_text() == 'Thank you: recorded as right.'
    two.locator('.app-feedback-no').click()
    two.locator('.app-feedback-labels').wait_for()
    two.locator('.app-feedback-labels label:has-text("pear") input').check()
    two.locator('.app-feedback-send').click()
    two.locator('.app-feedback-thanks').wait_for()
    assert two.locator('.app-feedback-thanks').inner_text() == 'Thank you: recorded as wrong: it shows lemon, orange, pear.'
    labelled = PredictionLog(served.log_db).labelled('mixed_fruits')
    assert sorted(labelled['truth']) == ['Apple Red 1;Kiwi;Pear', 'Lemon;Orange;Pear']

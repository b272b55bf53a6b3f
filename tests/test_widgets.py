"View-side checks that need no browser: the drop zone re-validates what a client sends."
from widgets.dropzone import DropZone


def _received(zone, content, buffers, chosen=None):
    got = []
    zone.on_upload(lambda files, rejected, n: got.append((files, rejected, n)))
    zone._receive(zone, content, buffers)
    if chosen is not None: assert got[0][2] == chosen
    return got[0][:2]


def test_forged_upload_message_is_checked_again_on_the_server():
    zone = DropZone(max_bytes=10, max_total_bytes=15, max_files=2)
    files, rejected = _received(zone, {'event': 'upload', 'files': [
        {'name': '../../etc/passwd'}, {'name': 'big.png'}, {'name': 'b.png'}, {'name': 'c.png'}]},
        [memoryview(b'x' * 5), memoryview(b'y' * 11), memoryview(b'z' * 5), memoryview(b'w' * 1)])
    assert files == [('passwd', b'x' * 5), ('b.png', b'z' * 5)]
    assert [r[0] for r in rejected] == ['big.png', 'c.png']


def test_a_flood_of_rejections_is_summed_up_in_one_line():
    "A forged upload listing 4,000 refused files (19 s of kernel time and 28k messages before) lists max_files of them."
    zone = DropZone(max_files=5)
    flood = [{'name': f'f{i}.png', 'size': 'huge' if i % 2 else 10, 'reason': 'x'} for i in range(4000)]
    files, rejected = _received(zone, {'event': 'upload', 'files': [{'name': 'a.png'}] * 9, 'rejected': flood},
                                [b'x'] * 9)
    assert len(files) == 5 and len(rejected) == 6
    assert rejected[-1] == ('3999 more file(s)', 0, 'not sent: too many files at once.')
    assert _received(DropZone(max_files=5), {'event': 'upload', 'files': [{'name': 'a.png'}] * 9, 'rejected': flood},
                     [b'x'] * 9, chosen=4009)
    assert rejected[0][0] == 'a.png' and rejected[4][0] == 'f0.png' and rejected[4][1] == 10
    assert rejected[3][2].startswith('not sent: an upload may hold at most 5 files')


def test_browser_side_rejections_are_reported_and_other_messages_ignored():
    zone = DropZone()
    files, rejected = _received(zone, {'event': 'upload', 'files': [], 'rejected': [
        {'name': 'C:\\\\photos\\\\huge.png', 'size': 2 ** 30, 'reason': 'over the limit'}]}, [])
    assert files == [] and rejected == [('huge.png', 2 ** 30, 'over the limit')]
    got = []
    zone.on_upload(lambda *a: got.append(a))
    zone._receive(zone, {'event': 'something else'}, [])
    zone._receive(zone, 'not a dict', [])
    assert got == []


def test_the_apps_in_process_predict_score_and_classify(demo_store):
    "The embedded default (a notebook in JupyterLab): the same views over `LocalModels`."
    import datetime
    import html
    from helpers import ADULT_CSV, image_files
    from predictors.service.local import LocalModels
    from widgets.image import ImageApp
    from widgets.tabular import TabularApp
    models = LocalModels(demo_store, None)
    app = TabularApp(models)
    app.predict()
    assert 'Predicted salary:' in app.result.value and 'app-bar-row' in app.result.value
    csv = ''.join(open(ADULT_CSV).readlines()[:30]).replace('\n39,', '\nthirty-nine,', 1).encode()
    app.upload.value = ({'name': 'x.csv', 'content': memoryview(csv), 'size': len(csv), 'type': 'text/csv',
                         'last_modified': datetime.datetime.now()},)
    assert '28 of 29 rows scored; 1 could not be scored' in app.batch.value
    assert "row 1: Age: 'thirty-nine' is not a number" in html.unescape(app.batch.value) and 'download="x_scored.csv"' in app.batch.value
    img = ImageApp(models)
    files = [(f.name, f.read_bytes()) for f in image_files()[:2]] + [('bad.png', b'x')]
    img.classify(files, [('huge.png', 2**30, 'over the limit')])
    assert '4 image(s): 2 classified, 2 rejected.' in img.summary.value
    assert [len(c.children) for c in img.grid.children] == [3, 3, 2, 2]     # title, thumbnail, bars / title, error


def test_classes_read_as_words_sort_by_number_and_low_confidence_is_unsure():
    from predictors.core.results import class_label, is_unsure, natural_key
    assert class_label({}, 'bell_pepper') == 'bell pepper'
    assert class_label({'labels': {'bell_pepper': 'Sweet pepper'}}, 'bell_pepper') == 'Sweet pepper'
    assert sorted(['corn_10', 'corn_2', 'Corn_1', 'apple'], key=natural_key) == ['apple', 'Corn_1', 'corn_2', 'corn_10']
    assert is_unsure({}, {'a': 0.129, 'b': 0.128}) and not is_unsure({}, {'a': 0.7, 'b': 0.3})
    assert not is_unsure({'min_confidence': 0.1}, {'a': 0.129, 'b': 0.128}) and not is_unsure({}, {})


def test_two_hundred_images_are_counted_as_two_hundred():
    "200 chosen, 64 sent: the browser lists 64 refusals and counts the rest (it read '129 image(s): 64 classified')."
    from widgets.image import ImageApp

    class Models:
        def models(self, task=None): return []
        def predict(self, name, files, version=None): return [type('R', (), dict(ok=True, id=None, prediction='a'))()
                                                              for _ in files]
    app = ImageApp(Models())
    from predictors.core.imaging import ImageLimits
    app.card, app.limits = {'name': 'm', 'version': 'v1', 'classes': ['a']}, ImageLimits()
    app.show_cards = lambda: None
    zone = DropZone(max_files=64)
    zone.on_upload(app.classify)
    refused = [{'name': f'f{i}.png', 'size': 1, 'reason': 'not sent'} for i in range(64)]
    zone._receive(zone, {'event': 'upload', 'files': [{'name': f'{i}.png'} for i in range(64)], 'rejected': refused,
                         'unlisted': 72}, [b'x'] * 64)
    assert '200 image(s): 64 classified, 136 rejected.' in app.summary.value


def test_the_guard_lets_a_page_change_only_what_its_controls_change():
    "Updates keep only the traits a person changes; a choice must exist; a disabled button does not click; size bounded."
    import ipywidgets as W
    from widgets.guard import MAX_MESSAGE, admits
    menu, text, button = W.Dropdown(options=['a', 'b']), W.Text(), W.Button(disabled=True)
    data = {'method': 'update', 'state': {'index': 1, 'disabled': True, 'options': ['x']}, 'buffer_paths': []}
    assert admits(menu, data, []) is None and data['state'] == {'index': 1}
    assert admits(menu, {'method': 'update', 'state': {'index': None}}, []) == 'index None'
    assert admits(menu, {'method': 'update', 'state': {'index': 5}}, []) == 'index 5'
    assert admits(text, {'method': 'update', 'state': {'value': 'x' * MAX_MESSAGE}}, []).startswith('a message of over')
    assert admits(text, {'method': 'update', 'state': {'layout': 'IPY_MODEL_x'}}, []) == (
        'an update of what the page may not change')
    assert admits(button, {'method': 'custom', 'content': {'event': 'click'}}, []) == 'a click on a disabled control'
    button.disabled = False
    assert admits(button, {'method': 'custom', 'content': {'event': 'click'}}, []) is None
    zone = DropZone(max_total_bytes=2 ** 20)
    assert admits(zone, {'method': 'update', 'state': {'max_files': 10 ** 6}}, []) is not None
    assert admits(zone, {'method': 'custom', 'content': {'event': 'upload'}}, [b'x' * 2 ** 20]) is None
    assert admits(zone, {'method': 'custom', 'content': {'event': 'upload'}}, [b'x' * 3 * 2 ** 20]) is not None


def test_visitors_pick_a_model_not_a_version(store_copy):
    """The picker listed every version (v1, v3, v2), a `--no-activate` one that `compare` judged worse among
    them (#26 item 6): the apps offer each model's active version; `versions=True` (operators) all of them."""
    from predictors.service.local import LocalModels
    from widgets.tabular import TabularApp
    card = store_copy.card('adult_income')
    store_copy.register('adult_income', store_copy.path('adult_income') / 'model.pkl', card, activate=False)
    models = LocalModels(store_copy, None)
    labels = [label for label, _ in TabularApp(models).picker.options]
    assert labels == ['adult_income v1 (active)', 'bike_rentals v1 (active)'], labels
    every = [label for label, _ in TabularApp(models, versions=True).picker.options]
    assert every[:2] == ['adult_income v1 (active)', 'adult_income v2'], every


def test_in_jupyterlab_the_apps_log_and_ask_for_feedback(demo_store, tmp_path, monkeypatch):
    """The README's development path (a notebook in JupyterLab, no model server) logged nothing and never asked
    *Was this right?* (`connect()` passed `log=None`, #26 item 8): it logs where `$FASTAI_APPS_LOG` says."""
    from predictors.monitoring.log import PredictionLog
    from widgets.tabular import TabularApp
    monkeypatch.delenv('FASTAI_APPS_API', raising=False)
    monkeypatch.setenv('FASTAI_APPS_MODELS', str(demo_store.root))
    monkeypatch.setenv('FASTAI_APPS_LOG', str(tmp_path / 'lab.db'))
    app = TabularApp()
    app.predict()
    assert 'Predicted salary:' in app.result.value
    assert len(PredictionLog(tmp_path / 'lab.db').read('adult_income')) == 1
    assert 'Was this right?' in ' '.join(_texts(app.feedback))


def _texts(widget) -> list[str]:
    "The text of every HTML and Label widget inside `widget`."
    own = [widget.value] if widget.__class__.__name__ in ('HTML', 'Label') else []
    return own + [t for c in getattr(widget, 'children', ()) for t in _texts(c)]


def test_a_scored_file_has_one_row_per_line_in_order_numbered_one_way(demo_store):
    """#26 item 2: a line with extra values was missing from the download, the page numbered one problem by row
    (counted after the dropped line) and another by file line, and whole numbers came back as `77516.0`."""
    import csv
    import datetime
    import html
    import io
    from helpers import ADULT_CSV
    from predictors.service.local import LocalModels
    from widgets.tabular import TabularApp
    lines = open(ADULT_CSV).read().splitlines()[:12]
    lines[5] += ',extra,values'                                  # file line 6 (row 5): values too many
    lines[8] = 'old' + lines[8][lines[8].index(','):]            # file line 9 (row 8): age not a number
    cells = lines[2].split(','); cells[2] = ''; lines[2] = ','.join(cells)    # an empty fnlwgt (whole numbers)
    data = ('\n'.join(lines) + '\n').encode()
    models = LocalModels(demo_store, None)
    out = io.BytesIO()
    models.score_csv('adult_income', data, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert len(rows) == 11, 'one row per input line'
    assert rows[4]['problem'].startswith('error: line 6 of the file has 17 values') and rows[4]['age'] == ''
    assert rows[7]['age'] == 'old' and rows[8]['age'] == lines[9].split(',')[0]          # in order
    assert rows[0]['fnlwgt'] == '77516' and rows[1]['fnlwgt'] == '' and rows[0]['education-num'] == '13'
    app = TabularApp(models)
    app.upload.value = ({'name': 'x.csv', 'content': memoryview(data), 'size': len(data), 'type': 'text/csv',
                         'last_modified': datetime.datetime.now()},)
    shown = html.unescape(app.batch.value)
    assert '9 of 11 rows scored; 2 could not be scored' in shown
    assert 'row 5: line 6 of the file has 17 values' in shown and "row 8: Age: 'old' is not a number" in shown
    assert '77516.0' not in shown and '>77516<' in shown


def test_a_number_outside_the_training_range_is_answered_as_a_guess_and_marked_while_typing(demo_store):
    """Age −5 got "<50k … 99.9 %" and the warning only came after predicting (#26 item 4). The rule, in the
    form, CSV and API alike: answered, with the warning beside it (the sentence, the `problem` column, the
    API's `warnings`); the form marks the field as it is typed."""
    import html
    from predictors.service.local import LocalModels
    from widgets.tabular import TabularApp
    app = TabularApp(LocalModels(demo_store, None))
    app.form.controls['age'].value = '-5'
    assert 'app-outside' in app.form.controls['age']._dom_classes
    assert '-5 is outside the training range 17 – 90: the answer will be a guess' in app.form.notes['age'][0].value
    app.predict()
    said = html.unescape(app.result.value)
    assert 'app-warn' in app.result.value and 'app-warning' not in app.result.value      # said once, in the sentence
    assert ', so this answer is a guess.' in said and 'but Age -5 is outside the training range 17–90' in said
    app.form.controls['age'].value = '40'
    assert 'app-outside' not in app.form.controls['age']._dom_classes
    app.form.controls['fnlwgt'].value = '5'          # ranges as people read numbers (was 13769–1484705, #26 item 11)
    app.form.controls['capital-gain'].value = ''
    app.predict()
    said = html.unescape(app.result.value)
    assert 'Census weight (fnlwgt) 5 is outside the training range 13,769–1,484,705' in said
    assert 'Capital gain ($) (capital-gain) was empty: used the training median 0' in said


def test_the_csv_section_offers_a_template_that_scores_as_it_is(demo_store):
    """"Upload a CSV with the columns above" never showed the header a file needs (#26 item 11): a template
    download holds the input columns and one row of typical values, and scores as it is."""
    import base64
    import csv
    import io
    import re
    from predictors.service.local import LocalModels
    from widgets.tabular import TabularApp
    models = LocalModels(demo_store, None)
    note = TabularApp(models).scoring.note.value
    link = re.search(r'download="adult_income_template.csv" href="data:text/csv;base64,([^"]+)"', note)
    assert link and 'Download a template' in note
    data = base64.b64decode(link.group(1))
    header, row = list(csv.reader(io.StringIO(data.decode())))
    card = demo_store.card('adult_income')
    assert header == [c['name'] for c in card['schema']['inputs'] if c['name'] != 'salary'] and len(row) == len(header)
    out = io.BytesIO()
    assert models.score_csv('adult_income', data, out) == []
    scored = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert len(scored) == 1 and scored[0]['prediction'] in ('<50k', '>=50k') and scored[0]['problem'] == ''


def test_use_via_api_shows_the_model_of_the_page_and_nothing_for_one_that_cannot_be_used(demo_store):
    from predictors.service.local import LocalModels
    from widgets import ImageApp, TabularApp, TextApp
    models = LocalModels(demo_store, None)
    for app, name in ((TabularApp(models), 'adult_income'), (TextApp(models), 'sms_spam'), (ImageApp(models), 'fruits')):
        app.select(name, 'v1')
        assert f'/v1/models/{name}/predict' in app.api.value
        app.select(name, 'v9')                              # no such version: the page says it cannot be used
        assert app.api.value == '', type(app).__name__

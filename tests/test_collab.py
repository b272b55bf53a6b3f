"""Recommenders (#40): the demo `movie_ratings` and recommenders of every model fastai makes, served as `learn.get_preds`
answers them; people the model knows and new ones (folded in); what the card says beside the obvious rankings; every
surface (/v1, /v2, the CLI) and bad input."""
import json

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, run_cli

RATINGS = ROOT / 'data' / 'movielens_small' / 'ratings.csv'
MOVIES = ROOT / 'data' / 'movielens_small' / 'movies.csv'


@pytest.fixture(scope='module')
def movies(demo_store):
    from predictors import load_predictor
    return load_predictor('movie_ratings', demo_store)


def _get_preds(learn, df):
    with learn.no_bar():
        p, _ = learn.get_preds(dl=learn.dls.test_dl(df))
    return p.numpy().reshape(-1)


def test_served_ratings_equal_get_preds_and_the_card_beats_the_obvious(movies, demo_store):
    df = pd.read_csv(RATINGS).sample(2000, random_state=1)
    got = movies.predict_frame(df)
    assert not got.errors and np.abs(got.values - _get_preds(movies.learn, df)).max() <= 1e-5
    m = demo_store.card('movie_ratings')['metrics']
    pop = m['baselines']['popularity']
    assert m['hit_rate'] >= 1.1 * pop['hit_rate'] and m['people'] >= 300           # each person's latest 10 %
    assert m['new_people']['people'] >= 40 and m['new_people']['hit_rate'] >= m['new_people']['popularity_hit_rate']
    assert m['rmse'] < m['baselines']['item_mean']['rmse'] < m['baselines']['overall_mean']['rmse']


def test_a_known_persons_ratings_folded_in_land_near_their_trained_vector(movies):
    for user in ('1', '15', '414'):
        u = movies.users[user]
        items, r = movies.seen[u]
        w = movies.f.fold_in(items, r, movies.noise)
        trained = np.r_[movies.f.U[u], movies.f.bu[u]]
        assert w @ trained / np.linalg.norm(w) / np.linalg.norm(trained) > 0.9, user
        assert np.corrcoef(movies.f.vector_scores(w), movies.scores(u))[0, 1] > 0.95, user


def test_recommendations_leave_out_what_a_person_rated_and_follow_their_ratings(movies):
    mine = movies.recommend(user='1', top=20)
    seen = {movies.item_ids[i] for i in movies.seen[movies.users['1']][0]}
    assert len(mine.items) == 20 and not seen & {r.item for r in mine.items} and not mine.folded_in
    assert all(r.title and r.because and r.sure for r in mine.items[:5])
    kids = movies.recommend(ratings=[(1, 5), (3114, 5), (2355, 5), (4886, 4.5), (6377, 5)])         # Pixar films
    war = movies.recommend(ratings=[(1221, 5), (858, 5), (1213, 5), (1089, 5), (2329, 5)])          # crime dramas
    assert kids.folded_in and 'exactly' in kids.how and [r.item for r in kids.items] != [r.item for r in war.items]
    assert not {'1', '3114', '2355', '4886', '6377'} & {r.item for r in kids.items}
    comedy = movies.recommend(user='1', where={'genres': 'Comedy'})
    assert all('Comedy' in r.about['genres'].split('|') for r in comedy.items)
    assert [r.title for r in movies.similar('1', 3)] and movies.search('toy story')[0]['title'] == 'Toy Story (1995)'


def test_many_people_at_once_get_the_lists_each_gets_alone(movies):
    "`recommend_each` (one float32 product per 128 people, the best blocks of items first) lists what `recommend` does."
    from predictors.core.errors import ModelError
    people = movies.user_ids[1:] + ['nobody']
    many = movies.recommend_each(people, top=10)
    for user, got in zip(people[:-1], many):
        alone = movies.recommend(user=user, top=10).items
        assert [r.item for r in got.items] == [r.item for r in alone]
        assert max(abs(a.rating - b.rating) for a, b in zip(got.items, alone)) < 1e-3
    assert isinstance(many[-1], ModelError) and "'nobody' is not one the model knows" in str(many[-1])
    noir = movies.recommend_each(['1'], top=500, where={'genres': 'Film-Noir'})[0].items      # fewer than asked
    assert 0 < len(noir) < 500 and all('Film-Noir' in r.about['genres'] for r in noir)


def test_bad_input_is_a_clear_answer(movies):
    from predictors.core.store import ModelError
    with pytest.raises(ModelError, match="userId '999999' is not one the model knows: give their ratings"):
        movies.recommend(user='999999')
    with pytest.raises(ModelError, match='is not a number from 0.5 to 5'):
        movies.recommend(ratings=[(1, 7)])
    with pytest.raises(ModelError, match='none of the rated items is one the model knows'):
        movies.recommend(ratings=[('no such film', 4)])
    some = movies.recommend(ratings=[(1, 5), ('no such film', 4)])
    assert some.items and "movieId 'no such film' is not one the model knows: left out" in some.warnings
    with pytest.raises(ModelError, match='at most 10,000'):
        movies.recommend(ratings=[(1, 4)] * 10_001)
    rows = movies.predict_records([{'userId': 1, 'movieId': 1}, {'userId': 999999, 'movieId': 1}, {'userId': 1}])
    assert rows[0].ok and 'not one the model knows' in rows[1].error and 'give both' in rows[2].error


def _fit(tmp_path, use_nn: bool):
    "A small recommender of a fifth of the ratings, registered (an embedding network or a dot product)."
    from predictors import ModelStore
    from predictors.kinds.collab.train import train_collab
    df = pd.read_csv(RATINGS)
    df = df[df['userId'] <= df['userId'].quantile(0.4)]
    df.to_csv(tmp_path / 'some.csv', index=False)
    store = ModelStore(tmp_path / 'models')
    train_collab(tmp_path / 'some.csv', 'nn', store, epochs=3, use_nn=use_nn, log=lambda m: None)
    return store, df


def test_an_embedding_network_is_served_and_folds_in_new_people(tmp_path):
    from predictors import load_predictor
    from predictors.kinds.collab.train import train_collab
    store, df = _fit(tmp_path, use_nn=True)
    pred = load_predictor('nn', store)
    assert pred.f.mode == 'net' and type(pred.learn.model).__name__ == 'EmbeddingNN'
    sample = df.sample(1000, random_state=0)
    assert np.abs(pred.predict_frame(sample).values - _get_preds(pred.learn, sample)).max() <= 1e-5
    new = pred.recommend(ratings=[(1, 5), (3114, 5), (2355, 4)])
    assert new.folded_in and 'gradient steps' in new.how and len(new.items) == 10
    u = pred.users[str(df['userId'].iloc[0])]
    w = pred.f.fold_in(*pred.seen[u], pred.noise)
    assert np.corrcoef(pred.f.vector_scores(w), pred.scores(u))[0, 1] > 0.9
    run_cli('items', 'nn', MOVIES, models=store.root, check=0)
    said = []
    train_collab(tmp_path / 'some.csv', 'nn', store, epochs=1, log=said.append)        # a retrain keeps the titles
    assert store.file('nn', 'v2', 'items.csv') is not None and 'nn: kept the items of v1' in ' '.join(said)
    top = load_predictor('nn', store).recommend(user=str(df['userId'].iloc[0]), top=1).items[0]
    assert top.title != top.item and 'genres' in top.about


BOOK_MODEL = '''
from fastai.collab import *
from fastai.tabular.all import *


def create_params(size):
    return nn.Parameter(torch.zeros(*size).normal_(0, 0.01))


class DotProductBias(Module):
    "The book's recommender (chapter 8): factors and biases as parameters of its own."
    def __init__(self, n_users, n_movies, n_factors, y_range=(0, 5.5)):
        self.user_factors = create_params([n_users, n_factors])
        self.user_bias = create_params([n_users])
        self.movie_factors = create_params([n_movies, n_factors])
        self.movie_bias = create_params([n_movies])
        self.y_range = y_range

    def forward(self, x):
        users = self.user_factors[x[:, 0]]
        movies = self.movie_factors[x[:, 1]]
        res = (users * movies).sum(dim=1)
        res += self.user_bias[x[:, 0]] + self.movie_bias[x[:, 1]]
        return sigmoid_range(res, *self.y_range)
'''


def test_a_plain_learner_with_the_books_own_model_is_served_with_its_code_file(tmp_path):
    "A `Learner` over `CollabDataLoaders` whose model is written in a notebook: recognised with `--code`, folded in exactly."
    import importlib.util
    import sys
    from fastai.collab import CollabDataLoaders
    from fastai.learner import Learner
    from fastai.losses import MSELossFlat
    from predictors import ModelStore, load_predictor
    from predictors.importing.importer import import_learner
    (tmp_path / 'book.py').write_text(BOOK_MODEL)
    spec = importlib.util.spec_from_file_location('__main__book', tmp_path / 'book.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    mod.DotProductBias.__module__ = '__main__'
    sys.modules['__main__'].DotProductBias = mod.DotProductBias
    df = pd.read_csv(RATINGS).head(20000)
    dls = CollabDataLoaders.from_df(df[['userId', 'movieId', 'rating']], bs=512, seed=0)
    learn = Learner(dls, mod.DotProductBias(len(dls.classes['userId']), len(dls.classes['movieId']), 20), loss_func=MSELossFlat())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 5e-3)
    learn.export(tmp_path / 'book.pkl')
    del sys.modules['__main__'].DotProductBias
    df.to_csv(tmp_path / 'ratings.csv', index=False)
    store = ModelStore(tmp_path / 'models')
    import_learner(tmp_path / 'book.pkl', 'book', csv=tmp_path / 'ratings.csv', store=store, code=[tmp_path / 'book.py'])
    pred = load_predictor('book', store)
    assert store.card('book')['task'] == 'collab' and pred.f.mode == 'dot'
    sample = df.sample(500, random_state=0)
    got = pred.predict_frame(sample)              # (fastai's random split left some items out of training: refused)
    ok = np.isfinite(got.values)
    assert ok.sum() > 400 and all('not one the model knows' in e for e in got.errors.values())
    assert np.abs(got.values[ok] - _get_preds(pred.learn, sample)[ok]).max() <= 1e-5
    assert pred.recommend(ratings=[(1, 5), (50, 4)]).folded_in and pred.recommend(user='1').items


def test_every_surface_v1_v2_cli_and_feedback(demo_store, tmp_path):
    from fastapi.testclient import TestClient
    from predictors.api import create_app
    from predictors.monitoring.log import PredictionLog
    log = PredictionLog(tmp_path / 'log.db', source='api')
    with TestClient(create_app(demo_store, log=log, token=None), base_url='http://127.0.0.1') as http:
        viewer = {'X-Session-Id': 'viewer'}
        known = http.post('/v1/models/movie_ratings/recommend', json={'user': 1, 'top': 5}, headers=viewer).json()
        assert len(known['items']) == 5 and known['items'][0]['rank'] == 1 and known['items'][0]['title']
        new = http.post('/v1/models/movie_ratings/recommend', json={'ratings': [{'item': 1, 'rating': 5}], 'top': 3}).json()
        assert new['folded_in'] and len(new['items']) == 3
        bad = http.post('/v1/models/movie_ratings/recommend', json={'user': 'nobody'})
        assert bad.status_code == 422 and "userId 'nobody' is not one the model knows" in bad.json()['detail']
        assert http.post('/v1/models/adult_income/recommend', json={'user': 1}).json()['detail'].endswith('it does not recommend.')
        assert http.get('/v1/models/movie_ratings/items', params={'q': 'matrix'}).json()['items'][0]['item'] == '2571'
        assert len(http.get('/v1/models/movie_ratings/similar', params={'item': 2571, 'top': 4}).json()['items']) == 4
        pairs = http.post('/v1/models/movie_ratings/predict', json={'records': [{'userId': 1, 'movieId': 2571}]}).json()
        body = {'inputs': [dict(name='userId', shape=[1], datatype='BYTES', data=['1']),
                           dict(name='movieId', shape=[1], datatype='BYTES', data=['2571'])]}
        v2 = {t['name']: t for t in http.post('/v2/models/movie_ratings/infer', json=body).json()['outputs']}
        assert abs(v2['predicted']['data'][0] - pairs['results'][0]['prediction']) < 1e-9
        people = dict(inputs=[dict(name='userId', shape=[2], datatype='BYTES', data=['1', 'nobody'])],
                      parameters=dict(verb='recommend', top=3))
        lists = {t['name']: t for t in http.post('/v2/models/movie_ratings/infer', json=people).json()['outputs']}
        assert lists['item']['shape'] == [2, 3] and lists['item']['data'][:3] == [i['item'] for i in known['items'][:3]]
        assert lists['item']['data'][3:] == ['', '', ''] and lists['rating']['data'][3:] == [None] * 3
        assert lists['error']['data'][0] == '' and 'not one the model knows' in lists['error']['data'][1]
        people['parameters'] = dict(verb='similar')
        assert "answers no 'similar' over /v2" in http.post('/v2/models/movie_ratings/infer', json=people).json()['error']
        people['parameters'] = dict(verb='recommend', top=0)
        assert 'parameters.top is a whole number' in http.post('/v2/models/movie_ratings/infer', json=people).json()['error']
        seen = http.post('/v1/models/movie_ratings/feedback', headers=viewer, json={'labels': [
            {'id': known['items'][0]['id'], 'truth': '4.5'}, {'id': known['items'][1]['id'], 'truth': '7'}]}).json()
    assert seen['results'] == [dict(id=known['items'][0]['id'], ok=True),
                               dict(id=known['items'][1]['id'], error="'7' is not a rating from 0.5 to 5")]
    logged = log.read('movie_ratings')
    assert len(logged) >= 5 + 3 + 1 and logged['inputs'].map(lambda i: i.get('known_item')).all()
    (tmp_path / 'new.csv').write_text('userId,movieId,rating\nann,1,5\nann,260,4.5\nbob,318,5\n')
    out = run_cli('recommend', 'movie_ratings', '--ratings', tmp_path / 'new.csv', '--user', '1', '--top', '2',
                  models=demo_store.root, log=tmp_path / 'cli.db', check=0).stdout.splitlines()
    assert out[0] == 'user,rank,item,score,rating,title,genres' and len(out) == 7
    assert [line.split(',')[0] for line in out[1:]] == ['1', '1', 'ann', 'ann', 'bob', 'bob']
    (tmp_path / 'bad.csv').write_text('person,film,stars\nann,1,5\n')
    r = run_cli('recommend', 'movie_ratings', '--ratings', tmp_path / 'bad.csv', models=demo_store.root, check=2)
    assert 'lacks the column(s) userId, movieId, rating' in r.stderr and 'Traceback' not in r.stderr


def test_a_million_ratings_of_one_person_and_the_items_verb(demo_store, tmp_path, store_copy):
    big = tmp_path / 'big.csv'
    with open(big, 'w') as f:
        f.write('userId,movieId,rating\n')
        f.writelines(f'ann,{(i % 8000) + 1},4\n' for i in range(1_000_000))
    r = run_cli('recommend', 'movie_ratings', '--ratings', big, models=demo_store.root, check=1)
    assert 'ann: 1,000,000 ratings; at most 10,000 at once.' in r.stderr
    (tmp_path / 'titles.csv').write_text('movieId,title,year,language\n1,Toy Story,1995,en\n2,Jumanji,1995,en\n'
                                         '3,Amélie,2001,fr\n')
    assert 'movie_ratings v1: 3 items with titles (year, language)' in run_cli(
        'items', 'movie_ratings', tmp_path / 'titles.csv', models=store_copy.root, check=0).stdout
    card = json.loads(run_cli('card', 'movie_ratings', models=store_copy.root, check=0).stdout)
    assert card['file_info']['items.csv']['rows'] == 3
    assert card['file_info']['items.csv']['filters'] == {'year': ['1995', '2001'], 'language': ['en', 'fr']}
    out = run_cli('recommend', 'movie_ratings', '--user', '2', '--top', '50', models=store_copy.root, check=0).stdout
    assert 'title,year' in out.splitlines()[0]


def test_live_error_and_two_versions_compared_on_later_ratings(movies, demo_store, tmp_path):
    from predictors.kinds import kind
    from predictors.kinds.base import PerformanceSettings
    later = pd.read_csv(RATINGS).sample(3000, random_state=5)
    r = kind('collab').compare(movies, movies, later, 0.05)
    assert r['measure'] == 'ranking' and r['hit_rate_a'] == r['hit_rate_b'] and r['verdict'] == 'no significant difference'
    from predictors.monitoring.compare import compare_text
    assert 'hit rate@10' in compare_text(r)
    got = movies.predict_frame(later.head(60))
    labelled = pd.DataFrame(dict(ts=1.7e9, prediction=got.values, truth=later.head(60)['rating'].to_numpy()))
    live = kind('collab').performance(labelled, demo_store.card('movie_ratings'), PerformanceSettings())
    assert live['measure'] == 'error' and live['labelled'] == 60 and live['verdict'] in ('ok', 'below the card')
    assert kind('collab').check_truth(demo_store.card('movie_ratings'), '7') == "'7' is not a rating from 0.5 to 5"


def test_explain_drift_shadow_and_dask_on_pairs(movies, store_copy, tmp_path):
    "Why a rating (its parts add up to it, the CLI's columns); unknown people in drift; a shadow version; Dask batch."
    from predictors.core.store import MODEL_FILE
    from predictors.monitoring.compare import shadow_report
    from predictors.monitoring.drift import report_from_log
    from predictors.monitoring.log import PredictionLog
    from predictors.service.local import LocalModels
    card = store_copy.card('movie_ratings')
    v2 = store_copy.register('movie_ratings', store_copy.path('movie_ratings', 'v1') / MODEL_FILE, card,
                             activate=False, files=store_copy.files('movie_ratings', 'v1'))
    store_copy.set_shadow('movie_ratings', v2)
    log = PredictionLog(tmp_path / 'log.db')
    models = LocalModels(store_copy, log)
    e = models.explain('movie_ratings', [{'userId': 1, 'movieId': 2571}, {'userId': 'new', 'movieId': 1}])
    shown = models.predict('movie_ratings', [{'userId': 1, 'movieId': 2571}])[0].prediction
    assert abs(e[0].base + sum(c['contribution'] for c in e[0].contributions) - shown) < 1e-4
    assert {c['field'] for c in e[0].contributions} == {'userId', 'movieId', 'taste'} and e[0].related
    assert 'not one the model knows' in e[1].error
    (tmp_path / 'pairs.csv').write_text('userId,movieId\n1,2571\n2,1\n')
    out = run_cli('explain', 'movie_ratings', tmp_path / 'pairs.csv', '--out', tmp_path / 'why.csv', models=store_copy.root,
                  log=tmp_path / 'cli.db', check=0)
    why = pd.read_csv(tmp_path / 'why.csv')
    assert list(why.columns[4:7]) == ['contribution_movieId', 'contribution_userId', 'contribution_taste'] and 'Traceback' not in out.stderr
    assert np.allclose(why['base'] + why.iloc[:, 4:7].sum(axis=1), why['probability'])
    ratings = pd.read_csv(RATINGS)
    known = ratings.sample(300, random_state=2)[['userId', 'movieId']].to_dict('records')
    strangers = [dict(userId=f'new{i}', movieId=1) for i in range(300)]
    for rows in (known, known[:100] + strangers):
        models.predict('movie_ratings', rows)
    rep, _ = report_from_log(log, card)
    assert rep['columns']['known_user']['verdict'] == 'drifted' and rep['columns']['known_item']['verdict'] == 'ok'
    models.feedback('movie_ratings', [(r.id, '4') for r in models.predict('movie_ratings', known[:30])])
    sh = shadow_report(log.shadow_pairs('movie_ratings'), card=card)
    assert sh['mean_difference'] == 0 and sh['labelled'] == 30 and sh['mae_shown'] == sh['mae_shadow']
    big = tmp_path / 'many.csv'
    ratings[['userId', 'movieId']].head(50_000).to_csv(big, index=False)
    with open(big, 'a') as f: f.write('someone,1\n')
    r = run_cli('predict', 'movie_ratings', big, '--engine', 'dask', '--workers', '1', '--out', tmp_path / 'scored.csv',
                models=store_copy.root, check=1)
    scored = pd.read_csv(tmp_path / 'scored.csv')
    assert len(scored) == 50_001 and scored['prediction'].isna().sum() == 1 and '"row": 50001' in r.stdout
    assert np.abs(scored['prediction'].head(200) - movies.predict_frame(ratings.head(200)).values).max() < 1e-5


def test_fastai27_recommenders_are_rebuilt_and_answer_as_fastai27_did(tmp_path):
    """The book's recommenders (`collab_learner` with items by title; its own `DotProductBias` with `--code`) and an
    embedding network, exported by fastai 2.7 (tests/fixtures/fastai27)."""
    from predictors import ModelStore, load_predictor
    fix = ROOT / 'tests' / 'fixtures' / 'fastai27'
    want = json.loads((fix / 'collab_preds.json').read_text())['preds']
    rows = pd.read_csv(fix / 'collab_rows.csv')
    df = pd.read_csv(RATINGS)
    df = df[df['userId'] <= 150].merge(pd.read_csv(MOVIES)[['movieId', 'title']])
    df.to_csv(tmp_path / 'ratings.csv', index=False)
    for name in ('collab', 'collab_nn', 'collab_book'):         # the book's own module with its code file
        run_cli('import', fix / f'{name}.pkl', '--name', name, '--csv', tmp_path / 'ratings.csv', '--code',
                fix / 'book_model.py', models=tmp_path / 'models', check=0)
    store = ModelStore(tmp_path / 'models')
    for name in ('collab', 'collab_nn', 'collab_book'):
        pred = load_predictor(name, store)
        got = pred.predict_frame(rows)
        assert not got.errors and np.abs(got.values - np.array(want[name])).max() <= 1e-5
        assert store.card(name)['converted_from']['fastai'] == '2.7' and store.card(name)['task'] == 'collab'
    book = load_predictor('collab', store)
    assert book.item == 'title' and book.recommend(ratings=[('Toy Story (1995)', 5), ('Matrix, The (1999)', 4)]).items
    assert 'Toy Story (1995)' not in [r.item for r in book.recommend(user='1').items]     # user 1 rated it

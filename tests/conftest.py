import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))          # tests/: helpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the project itself

from helpers import ADULT_CSV, ROOT  # noqa: E402
from pg import new_database, postgres_server  # noqa: E402


def pytest_configure(config):
    "Every prediction the tests make (CLI, notebooks, apps) goes to a throwaway log, never the user's own."
    import os
    import tempfile
    config._fastai_apps_log = tempfile.mkdtemp(prefix='fastai-apps-test-log-')
    os.environ['FASTAI_APPS_LOG'] = str(Path(config._fastai_apps_log) / 'predictions.db')


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, '_fastai_apps_log', ''), ignore_errors=True)


@pytest.fixture(scope='session')
def demo_store():
    "The committed store (read only: tests that change a store copy it first)."
    from predictors import ModelStore
    return ModelStore(ROOT / 'models')


@pytest.fixture
def tmp_store(tmp_path):
    from predictors import ModelStore
    return ModelStore(tmp_path / 'models')


@pytest.fixture
def store_copy(tmp_path, demo_store):
    "A writable copy of the demo store."
    from predictors import ModelStore
    shutil.copytree(demo_store.root, tmp_path / 'models')
    return ModelStore(tmp_path / 'models')


@pytest.fixture(scope='session')
def adult_df():
    return pd.read_csv(ADULT_CSV)


def _predictor(store, name):
    from predictors import load_predictor
    return load_predictor(name, store=store)


@pytest.fixture(scope='session')
def adult_predictor(demo_store): return _predictor(demo_store, 'adult_income')


@pytest.fixture(scope='session')
def adult_learner(adult_predictor): return adult_predictor.learn


@pytest.fixture(scope='session')
def fruits_predictor(demo_store): return _predictor(demo_store, 'fruits')


@pytest.fixture(scope='session')
def fruits_learner(fruits_predictor): return fruits_predictor.learn




@pytest.fixture(scope='session')
def postgres():
    "Base URL of a throwaway PostgreSQL server, for the whole session."
    with postgres_server() as url:
        yield url


@pytest.fixture(params=['sqlite', 'postgresql'])
def log_target(request, tmp_path):
    "An empty prediction log: a SQLite file, or a fresh database on the PostgreSQL server (a URL)."
    if request.param == 'sqlite': return tmp_path / 'log.db'
    return new_database(request.getfixturevalue('postgres'))

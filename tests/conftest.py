import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))          # tests/: helpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the project itself

from helpers import ADULT_CSV, ROOT  # noqa: E402


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


@pytest.fixture(scope='session')
def adult_learner(demo_store):
    return demo_store.load_learner('adult_income')


@pytest.fixture(scope='session')
def adult_predictor(demo_store):
    from predictors import load_predictor
    return load_predictor('adult_income', store=demo_store)


@pytest.fixture(scope='session')
def fruits_learner(demo_store):
    return demo_store.load_learner('fruits')


@pytest.fixture(scope='session')
def fruits_predictor(demo_store):
    from predictors import load_predictor
    return load_predictor('fruits', store=demo_store)



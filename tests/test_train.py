"Training inputs: image folder layouts, column inference and per-class sentences."
import pandas as pd
import pytest
from PIL import Image

from helpers import FRUIT_DIR
from predictors import ModelError
from predictors.kinds.image.train import find_image_items
from predictors.kinds.tables.train import infer_columns
from predictors.kinds.training import parse_templates


def test_style_layout_holds_out_one_whole_style():
    items = find_image_items(FRUIT_DIR, valid_style='fluent_modern')
    valid = [i for i in items if i[2]]
    assert len(items) == 144 and len(valid) == 36
    assert {p.parent.name for p, _, v in valid} == {'fluent_modern'}
    assert {l for _, l, _ in items} == {p.stem for p in (FRUIT_DIR / 'noto').glob('*.png')}


def test_class_folder_layout_splits_each_class(tmp_path):
    for c in ('cat', 'dog'):
        (tmp_path / c).mkdir()
        for i in range(10): Image.new('RGB', (8, 8)).save(tmp_path / c / f'{i}.png')
    items = find_image_items(tmp_path, valid_pct=0.2)
    assert len(items) == 20 and {l for _, l, _ in items} == {'cat', 'dog'}
    assert sum(v for _, l, v in items if l == 'cat') == 2


def test_unknown_style_and_empty_folder_are_explained(tmp_path):
    with pytest.raises(ModelError, match="no style folder 'pixel'"):
        find_image_items(FRUIT_DIR, valid_style='pixel')
    with pytest.raises(ModelError, match='no sub-folders with images'):
        find_image_items(tmp_path)


def test_columns_are_inferred_from_dtypes():
    df = pd.DataFrame(dict(a=[1, 2], b=['x', 'y'], c=[0.5, 1.5], flag=[True, False], y=['p', 'q']))
    assert infer_columns(df, 'y') == (['b', 'flag'], ['a', 'c'])
    assert infer_columns(df, 'y', cat=['a']) == (['a'], ['c', 'flag'])   # a bool is a number (0/1)


def test_templates_accept_classes_containing_equals():
    assert parse_templates(['>=50k=rich', '<50k=not rich'], ['<50k', '>=50k']) == {'>=50k': 'rich', '<50k': 'not rich'}
    with pytest.raises(ModelError, match='names no class'):
        parse_templates(['big=yes'], ['<50k', '>=50k'])

"Paths and helpers shared by the tests."
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADULT_CSV = ROOT / 'data' / 'adult_sample' / 'adult.csv'
FRUIT_DIR = ROOT / 'data' / 'fruit_emoji'
TEST_IMAGES = ROOT / 'test_images'


def run_cli(*args, models=None, check=None):
    "Run `python -m predictors …` in a subprocess; returns CompletedProcess."
    import subprocess
    env = dict(os.environ)
    if models is not None: env['FASTAI_APPS_MODELS'] = str(models)
    r = subprocess.run([sys.executable, '-m', 'predictors', *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=900)
    if check is not None: assert r.returncode == check, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r

"Paths and helpers shared by the tests."
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADULT_CSV = ROOT / 'data' / 'adult_sample' / 'adult.csv'
FRUIT_DIR = ROOT / 'data' / 'fruit_emoji'
TEST_IMAGES = ROOT / 'test_images'


def image_files() -> list:
    "The test pictures in name order: drawings, Fruits-360 test photos, those photos on a table (test_images/)."
    return sorted(p for p in TEST_IMAGES.iterdir() if p.suffix in ('.png', '.jpg'))


def run_async(coro):
    "Run a coroutine in a fresh loop in its own thread (Playwright's sync API may hold this thread's loop)."
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, coro).result()


def run_cli(*args, models=None, log=None, check=None):
    "Run `python -m predictors …` in a subprocess (store and prediction log if given); returns CompletedProcess."
    import subprocess
    env = dict(os.environ)
    if models is not None: env['FASTAI_APPS_MODELS'] = str(models)
    if log is not None: env['FASTAI_APPS_LOG'] = str(log)
    r = subprocess.run([sys.executable, '-m', 'predictors', *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=900)
    if check is not None: assert r.returncode == check, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r


_ADULT_HEAD = ('age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,'
               'capital-gain,capital-loss,hours-per-week,native-country')
_ADULT_ROW = '39, State-gov,77516, Bachelors,13, Never-married, Adm-clerical, Not-in-family, White, Male,2174,0,40,'
# name -> (file bytes, what the user is told): run through the CLI and through the served app
HOSTILE_CSV = {
    'empty': (b'', 'is empty: a CSV needs a header row and at least one row'),
    'blank-lines': (b'\n\n  \n', 'is empty'),
    'header-only': (_ADULT_HEAD.encode() + b'\n', 'has a header but no rows'),
    'not-utf8': ((_ADULT_HEAD + '\n' + _ADULT_ROW + ' M\xe9xico\n').encode('latin-1'),
                 'is not UTF-8 text (in the first rows): save the file as CSV UTF-8'),
    'binary': (bytes(range(256)) * 4, 'is not UTF-8 text'),
    'missing-columns': (b'age,workclass\n39, State-gov\n', 'lacks the columns fnlwgt, education'),
    'extra-columns': ((_ADULT_HEAD + ',favourite-colour\n' + _ADULT_ROW + ' United-States,blue\n'
                       + _ADULT_ROW + ' Cuba,red\n').encode(), 'not used by the model (kept as they are): favourite-colour'),
    'malformed-line': ((_ADULT_HEAD + '\n' + _ADULT_ROW + ' United-States\n' + _ADULT_ROW + ' Cuba,x,y\n'
                        + _ADULT_ROW + ' Canada\n').encode(),
                       'line 3 of the file has 16 values where the header has 14 columns'),
    'unknown-category': ((_ADULT_HEAD + '\n' + _ADULT_ROW + ' Atlantis\n').encode(),
                         "Country of birth (native-country): ' Atlantis' was not seen in training"),
    # a NUL cuts a cell short where pandas reads it: that line fails alone
    'nul-in-cell': ((_ADULT_HEAD + '\n' + _ADULT_ROW + ' United-States\n' + _ADULT_ROW.replace('State-gov', 'State\0gov')
                     + ' Cuba\n' + _ADULT_ROW + ' Canada\n').encode(), 'line 3 of the file has a NUL character in it'),
    # a header with more columns than any model reads (a million, in the attack) is refused before it is read
    'wide-header': ((_ADULT_HEAD + ''.join(f',extra{i}' for i in range(2_001)) + '\n' + _ADULT_ROW + ' Cuba\n').encode(),
                    'the header has 2,015 columns, over the limit of 2,000'),
    # a trailing comma on every line, as many exports write: read as if it were not there
    'trailing-commas': ((_ADULT_HEAD + ',\n' + _ADULT_ROW + ' United-States,\n' + _ADULT_ROW + ' Cuba,\n').encode(), ''),
}

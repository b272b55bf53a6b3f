"""Hostile CSV files, each with the message a user gets: through the CLI here, through the served app in
tests/browser/test_apps.py (same cases, `HOSTILE_CSV` in helpers)."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers import ADULT_CSV, HOSTILE_CSV, ROOT, run_cli


@pytest.mark.parametrize('case', sorted(HOSTILE_CSV))
def test_hostile_csv_through_the_cli(tmp_path, demo_store, case):
    data, msg = HOSTILE_CSV[case]
    f = tmp_path / f'{case}.csv'; f.write_bytes(data)
    r = run_cli('predict', 'adult_income', f, '--no-log', models=demo_store.root)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    text = json.dumps(lines) + r.stderr
    assert msg in text, (case, text[:800])
    if case == 'unknown-category':      # a warning, the row is still predicted
        assert r.returncode == 0 and lines[0]['prediction'] in ('<50k', '>=50k')
    elif case in ('malformed-line', 'nul-in-cell'):   # that line fails alone, in its place; the rows around it are scored
        assert r.returncode == 1 and [l.get('prediction') is not None for l in lines] == [True, False, True]
        assert [l['row'] for l in lines] == [1, 2, 3] and lines[1]['line'] == 3     # one numbering (and its line)
    elif case in ('extra-columns', 'trailing-commas'):    # extra (or empty trailing) columns are ignored
        assert r.returncode == 0 and len(lines) == 2 and all(l['prediction'] in ('<50k', '>=50k') for l in lines)
        assert 'Unnamed' not in r.stderr
    else:
        assert r.returncode == 1 and 'prediction' not in lines[0]


def _big_csv(path, mb):
    head, body = ADULT_CSV.read_text().split('\n', 1)
    body = body if body.endswith('\n') else body + '\n'
    with open(path, 'w') as f:
        f.write(head + '\n')
        while f.tell() < mb * 2 ** 20: f.write(body)
    return sum(1 for _ in open(path)) - 1


def _peak_rss_mb(*args, rc=0):
    "Peak resident memory of `python -m predictors ARGS` (measured in a fresh parent: one child only), which exits `rc`."
    code = ('import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); '
            'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.exit(r.returncode)')
    r = subprocess.run([sys.executable, '-c', code, sys.executable, '-m', 'predictors', *map(str, args)],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == rc, r.stderr[-2000:]
    *out, peak = r.stdout.strip().splitlines()
    return int(peak), out


def test_a_100_mb_csv_is_scored_in_bounded_memory(tmp_path, demo_store):
    big = tmp_path / 'big.csv'; n = _big_csv(big, 100)
    small = tmp_path / 'small.csv'; small.write_text(''.join(open(ADULT_CSV).readlines()[:51]))
    store = ('--models', demo_store.root)
    base, _ = _peak_rss_mb(*store, 'predict', 'adult_income', small, '--no-log', '--out', tmp_path / 's.csv')
    peak, out = _peak_rss_mb(*store, 'predict', 'adult_income', big, '--no-log', '--out', tmp_path / 'b.csv')
    summary = json.loads(out[-1])
    assert summary['rows'] == n > 800_000 and summary['failed'] == 0
    with open(tmp_path / 'b.csv') as f:
        header = f.readline().rstrip('\n').split(',')
        assert sum(1 for _ in f) == n
    assert header[-4:] == ['prediction', 'probability_<50k', 'probability_>=50k', 'problem']
    # reading the whole file at once would take ~700 MB more (the parsed frame of ~900k rows)
    assert peak - base < 250, f'peak {peak} MB for 100 MB of CSV vs {base} MB for 50 rows: not streamed'


def test_a_line_of_a_million_values_costs_no_more_than_its_length(tmp_path, demo_store):
    """The attack: a 2 MB file whose first row has a million values (pandas took them as index levels: 250 s of
    CPU and 1 GB). That line fails alone by its number; a row followed by a million empty values (trailing
    commas) is read as the row; the rows around are scored; memory stays that of a small file."""
    head, row = ADULT_CSV.read_text().splitlines()[:2]
    cases = dict(values=row + ',x' * 1_000_000, commas=row + ',' * 1_000_000)
    store = ('--models', demo_store.root)
    small = tmp_path / 'small.csv'; small.write_text('\n'.join([head, row, row]) + '\n')
    base, plain = _peak_rss_mb(*store, 'predict', 'adult_income', small, '--no-log', '--out', tmp_path / 's.csv')
    scored = {}
    for case, line in cases.items():
        f = tmp_path / f'{case}.csv'; f.write_text('\n'.join([head, line, row, row]) + '\n')
        peak, out = _peak_rss_mb(*store, 'predict', 'adult_income', f, '--no-log', '--out', tmp_path / f'{case}_out.csv',
                                 rc=int(case == 'values'))
        assert peak - base < 60, (case, peak, base)
        scored[case] = pd.read_csv(tmp_path / f'{case}_out.csv')
        assert len(scored[case]) == 3, case
    assert scored['values']['prediction'].notna().tolist() == [False, True, True]
    assert scored['values']['problem'][0] == ('error: line 2 of the file has 1,000,015 values where the header has '
                                              '15 columns (a comma too many or too few?): it was not scored')
    assert scored['commas']['prediction'].notna().all() and scored['commas']['problem'].isna().all()
    assert scored['commas'].loc[0, 'probability_>=50k'] == scored['commas'].loc[1, 'probability_>=50k']

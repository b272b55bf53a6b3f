"The setup files agree with each other and with the README."
import re

import yaml

from helpers import ROOT


def _pins(lines):
    out = {}
    for line in lines:
        line = line.split('#')[0].strip().lstrip('- ').strip()
        m = re.match(r'^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)$', line)
        if m: out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_matches_requirements():
    req = _pins((ROOT / 'requirements.txt').read_text().splitlines())
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    pip = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict) and 'pip' in d)
    assert _pins(pip) == req
    for must in ('torch', 'torchvision', 'fastai', 'voila', 'ipywidgets', 'jupyterlab', 'nbval', 'pytest',
                 'pandas', 'pillow'):
        assert must in req, f'{must} is not pinned'
    assert req['torch'] == '2.14.1' and req['torchvision'] == '0.29.1'


def test_every_requirement_is_pinned():
    for line in (ROOT / 'requirements.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line: assert '==' in line, f'unpinned requirement: {line}'


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / 'README.md').read_text()
    ci = (ROOT / '.ci' / 'run').read_text()
    assert 'make test' in readme and 'make serve' in readme
    assert re.search(r'^make test\b', ci, re.M)


def test_installed_versions_match_pins():
    import importlib.metadata as md
    req = _pins((ROOT / 'requirements.txt').read_text().splitlines())
    for name, ver in req.items():
        got = md.version(name.split('[')[0])          # (a pin with extras: tritonclient[http])
        assert got.split('+')[0] == ver, f'{name} {got} installed, {ver} pinned'

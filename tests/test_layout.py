"""The package's shape (#23): no import cycle, no upward import between layers, a light view side, small
modules and functions, and ruff clean. Each test reads the source, so it fails on the change that breaks it."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# low to high: a module may import its own layer and those before it, never one after it
LAYERS = ['core', 'kinds', 'monitoring', 'service', 'importing', 'api', 'web', 'ops', 'cli']
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in ('predictors', 'widgets'):
        for p in sorted((ROOT / pkg).rglob('*.py')):
            parts = list(p.relative_to(ROOT).with_suffix('').parts)
            if parts[-1] == '__init__': parts = parts[:-1]
            out['.'.join(parts)] = p
    return out


def _imports(name: str, path: Path, mods=()) -> set[str]:
    """Every module that `name` imports, at the top or inside a function (`from pkg import submodule`
    counts as importing the submodule)."""
    pkg = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import): found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                up = pkg.split('.')[:len(pkg.split('.')) - node.level + 1]
                base = '.'.join(up + ([base] if base else []))
            subs = {f'{base}.{a.name}' for a in node.names} & set(mods)
            found |= subs if subs and len(subs) == len(node.names) else subs | {base}
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {i for i in _imports(m, p, mods) if i in mods and i != m} for m, p in mods.items()}


def _layer(mod: str) -> int | None:
    parts = mod.split('.')
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == 'predictors' and parts[1] in LAYERS else None


def test_no_import_cycle():
    graph, state, stack = _graph(), {}, []

    def visit(m):
        state[m] = 'open'; stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 'open':
                raise AssertionError('import cycle: ' + ' -> '.join(stack[stack.index(n):] + [n]))
            if n not in state: visit(n)
        state[m] = 'done'; stack.pop()
    for m in sorted(graph):
        if m not in state: visit(m)


def test_no_upward_import():
    bad = [f'{m} ({LAYERS[_layer(m)]}) imports {n} ({LAYERS[_layer(n)]})' for m, deps in _graph().items()
           for n in deps if _layer(m) is not None and _layer(n) is not None and _layer(n) > _layer(m)]
    assert not bad, '\n'.join(bad)


def test_views_import_no_model_libraries():
    "`widgets` never imports torch, fastai or pandas, neither itself nor through what it imports at load time."
    direct = [f'{m}: {i}' for m, p in _modules().items() if m.startswith('widgets')
              for i in _imports(m, p) if i.split('.')[0] in ('torch', 'fastai', 'pandas')]
    assert not direct, direct
    code = ('import sys, widgets, predictors.service; '
            'print(sorted(m for m in ("torch", "fastai", "pandas", "numpy") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == '[]', f'importing the views loads {out.strip()}'


def test_modules_and_functions_are_small():
    big = []
    for m, p in _modules().items():
        src = p.read_text()
        if len(src.splitlines()) > MAX_MODULE_LINES: big.append(f'{m}: {len(src.splitlines())} lines')
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES: big.append(f'{m}.{node.name}: {n} lines')
    assert not big, '\n'.join(big)


def test_ruff_clean():
    r = subprocess.run([sys.executable, '-m', 'ruff', 'check', 'predictors', 'widgets', 'tests', 'benchmarks', 'harness'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the kind seam (#39) -------------------------------------------------------------------------------------------
KINDS_DIR = ROOT / 'predictors' / 'kinds'
TASKS = ('tabular', 'regression', 'image', 'multilabel', 'text')
INPUTS = ('records', 'texts', 'images')
# places outside predictors/kinds/ allowed to compare a task or input name (shrunk to empty by #39: keep it so)
BRANCH_ALLOWED: set = set()


def _outside_kinds() -> dict[str, Path]:
    return {m: p for m, p in _modules().items() if not m.startswith('predictors.kinds')}


def test_nothing_outside_the_kinds_branches_on_a_kind_or_an_input():
    """No task or input name compared outside `predictors/kinds/` (`task == 'image'`, `x in ('image', 'multilabel')`,
    `takes == …`): a difference between kinds is a method of the kind."""
    import re
    pattern = re.compile(r"""== *'(tabular|regression|image|multilabel|text)'|in *\('image', *'multilabel'\)|takes *(==|!=|in)""")
    named = set(TASKS) | set(INPUTS)
    found = []
    for m, p in _outside_kinds().items():
        src = p.read_text()
        found += [f'{m}:{i}: {line.strip()}' for i, line in enumerate(src.splitlines(), 1) if pattern.search(line)]
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.Compare): continue
            consts = [c for side in [node.left, *node.comparators]
                      for c in (side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side])
                      if isinstance(c, ast.Constant) and c.value in named]
            if consts: found.append(f'{m}:{node.lineno}: compares with {consts[0].value!r}')
    assert not [f for f in found if f.split(':')[0] not in BRANCH_ALLOWED], '\n'.join(found)


def _kind_attributes() -> list[str]:
    tree = ast.parse((KINDS_DIR / 'base.py').read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == 'ModelKind')
    out = []
    for n in cls.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)): out.append(n.name)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name): out.append(n.target.id)
        elif isinstance(n, ast.Assign): out += [t.id for t in n.targets if isinstance(t, ast.Name)]
    return out


def test_every_attribute_a_kind_declares_is_read_somewhere():
    "What `ModelKind` declares is asked for: an attribute nothing reads is a promise nothing keeps."
    reads = set()
    for m, p in _modules().items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute): reads.add(node.attr)
    unread = [a for a in _kind_attributes() if a not in reads]
    assert not unread, f'ModelKind attributes read nowhere: {unread}'


def _kind_packages() -> set[str]:
    "The packages of the registered kinds: those `predictors/kinds/__init__.py` imports a kind from."
    src = (KINDS_DIR / '__init__.py').read_text()
    return {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom) and n.module
            and n.module.count('.') == 2 and (KINDS_DIR / n.module.split('.')[-1]).is_dir()}


def test_no_kind_imports_another_kinds_package():
    """A kind's package imports no other kind's package, and what kinds share (`kinds/base.py`, `tables/`, `pictures/`…)
    imports none: one kind reaches another only through the registry (`kinds.base.kind`)."""
    kinds, graph = _kind_packages(), _graph()
    assert len(kinds) >= 5, kinds
    bad = []
    for m, deps in graph.items():
        if not m.startswith('predictors.kinds.') or m == 'predictors.kinds': continue
        own = next((k for k in kinds if m == k or m.startswith(k + '.')), None)
        for d in deps:
            other = next((k for k in kinds if d == k or d.startswith(k + '.')), None)
            if other is not None and other != own: bad.append(f'{m} imports {d}')
    assert not bad, '\n'.join(bad)


def test_the_kinds_are_light_to_import():
    "The registry is read by the doors and the thin app kernels: importing it loads no numpy, pandas, torch or fastai."
    code = ('import sys, predictors.kinds; '
            'print(sorted(m for m in ("torch", "fastai", "pandas", "numpy") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == '[]', f'importing the kinds loads {out.strip()}'


def test_the_layout_document_names_every_module():
    """docs/layout.md names every module of the packages: its path from `predictors/` (`kinds/tables/schema.py`), or from
    the project for the others (`widgets/form.py`); a package's `__init__.py` as its folder (`kinds/tables/`)."""
    doc = (ROOT / 'docs' / 'layout.md').read_text()
    missing = []
    for pkg in ('predictors', 'widgets', 'harness'):
        for p in sorted((ROOT / pkg).rglob('*.py')):
            rel = p.relative_to(ROOT / pkg) if pkg == 'predictors' else p.relative_to(ROOT)
            want = f'{rel.parent}/' if p.name == '__init__.py' else str(rel)
            if want != './' and want not in doc: missing.append(want)
    assert not missing, f'docs/layout.md does not name: {missing}'


# the places a process starts from: they read the environment once and pass the settings down
ENTRY_POINTS = {'predictors.api.app': 'the model server (create_app)', 'predictors.cli': 'the command line (main)',
                'predictors.service': 'a notebook (connect)', 'predictors.ops.supervise': 'serve',
                'predictors.web.appserver': 'the doors', 'predictors.ops.examples': 'the docs writer (main)'}


def test_the_environment_is_read_at_the_entry_points_only():
    "`Settings.from_env()` is called where a process starts (`ENTRY_POINTS`), never deeper: settings are passed down."
    found = [f'{m}:{node.lineno}' for m, p in _modules().items() if m not in ENTRY_POINTS
             for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, ast.Attribute) and node.attr == 'from_env' and m != 'predictors.core.settings']
    assert not found, f'the environment read beyond the entry points: {found}'

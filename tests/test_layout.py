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
    r = subprocess.run([sys.executable, '-m', 'ruff', 'check', 'predictors', 'widgets', 'tests', 'benchmarks'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr

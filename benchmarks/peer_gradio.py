"""Us against Gradio (#29), in one run on this machine: the same `adult_income` learner served by `make serve` (our
`load_test.py`) and by a plain Gradio app written as the fastai course does (`benchmarks/peer/gradio_app.py`:
`gr.Interface`, `learn.predict`, the default queue), the same visitors arriving the same way (each opens the page
and makes P predictions). Prints both and the ratios.

    .venv/bin/python benchmarks/peer_gradio.py [--sessions 20] [--predictions 10] [--ramp 0] [--runs 1] [--floor]

`--floor` adds Voilà's own floor: the same visitors opening together a preheated notebook of one button, served by
`voila` with our voila.json (forked kernels), with the CPU a page took in the Voilà process and in its kernel.

Gradio and its client live in their own environment, `.venv-gradio` (pins: benchmarks/peer/requirements-gradio.txt,
the same torch and fastai as ours), made here on first use; never in `.venv`. Memory is the sum of the processes'
proportional set sizes (PSS), before the visitors, at the peak, and once they have gone (ours: their kernels culled
after `--cull` s idle; the same wait for Gradio).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import load_test
from harness.voila_server import PeakWatch, free_port, memory_mb

PEER = ROOT / 'benchmarks' / 'peer'
VENV = ROOT / '.venv-gradio'
print = __import__('functools').partial(print, flush=True)   # noqa: A001


def gradio_env() -> Path:
    "The Gradio environment's Python, made (or brought up to date) from its pins."
    python, pins, stamp = VENV / 'bin' / 'python', PEER / 'requirements-gradio.txt', VENV / '.installed'
    if not stamp.exists() or stamp.stat().st_mtime < pins.stat().st_mtime:
        print(f'making {VENV.name} from {pins.relative_to(ROOT)} (once)')
        if not python.exists(): subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
        subprocess.run([str(python), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', str(pins)], check=True)
        stamp.touch()
    return python


def model_file() -> Path:
    "The active `adult_income` export in the store (what `make serve` serves)."
    store = ROOT / 'models' / 'adult_income'
    return store / (store / 'ACTIVE').read_text().strip() / 'model.pkl'


def run_gradio(python, sessions, predictions, ramp, after_s) -> dict:
    "Serve the learner with Gradio, send the visitors, measure; the figures as `load_test.run` gives them."
    import psutil
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False', PYTHONWARNINGS='ignore')
    server = subprocess.Popen([str(python), str(PEER / 'gradio_app.py'), str(model_file()), str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        import httpx
        for _ in range(600):
            try:
                httpx.get(url, timeout=2).raise_for_status(); break
            except httpx.HTTPError:
                time.sleep(0.5)
        time.sleep(5)
        tree = lambda: [server_p, *server_p.children(recursive=True)]    # noqa: E731
        server_p = psutil.Process(server.pid)
        base = memory_mb(tree())
        t = time.perf_counter()
        with PeakWatch(lambda: (memory_mb(tree()),), (base,)) as watch:
            r = subprocess.run([str(python), str(PEER / 'gradio_driver.py'), url, str(sessions), str(predictions), str(ramp)],
                               env=env, capture_output=True, text=True, check=True)
        wall, peak = time.perf_counter() - t, watch.peak
        out = json.loads(r.stdout.strip().splitlines()[-1])
        time.sleep(after_s)
        after = memory_mb(tree())
    finally:
        os.killpg(server.pid, 15); server.wait(30)
    n = sessions * predictions
    print(f'Gradio: {sessions} sessions x {predictions} predictions in {wall:.0f} s; pages {len(out["open"])}/{sessions}, '
          f'predictions {len(out["latency"])}/{n}' + (f' (failed: {out["failed"][:3]})' if out['failed'] else ''))
    return dict(open=out['open'], latency=out['latency'], before=base, peak=peak[0], after=after, ok=not out['failed'])


def run_floor(sessions) -> list:
    """Voila's own floor: `sessions` visitors opening together a preheated notebook of one button
    (time_to_interactive's floor page), served by voila with voila.json (our kernel manager, forks): page open times."""
    from breakdown import cpu_by_part, cpu_used
    from time_to_interactive import floor_notebook
    from harness.voila_server import VoilaServer
    from harness.widget_client import open_app, together
    d = floor_notebook()
    times, failed = [], []

    async def visit():
        t = time.perf_counter()
        try:
            c = await open_app(srv.url, 'floor.ipynb', timeout=600)
            times.append(time.perf_counter() - t); c.close()
        except Exception as e:  # noqa: BLE001 - counted and reported
            failed.append(f'{type(e).__name__}: {e}'[:200])
    with VoilaServer([str(d), '--CappedKernelManager.max_kernels_per_address=0'], cwd=d,
                     log=d / 'voila.log') as srv:
        srv.wait_for_pools(1); time.sleep(5)
        cpu0 = cpu_by_part(srv)
        together([visit() for _ in range(sessions)])
        used = cpu_used(srv, cpu0)
    print(f'Voila floor (one button): pages {len(times)}/{sessions}' + (f' (failed: {failed[:3]})' if failed else '')
          + '; CPU a page: ' + ', '.join(f'{k} {v / sessions * 1000:.0f} ms' for k, v in sorted(used.items(), key=lambda x: -x[1])))
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sessions', type=int, default=20); ap.add_argument('--predictions', type=int, default=10)
    ap.add_argument('--ramp', type=float, default=0, help='spread the arrivals over this many seconds (0: together)')
    ap.add_argument('--cull', type=int, default=30, help='our idle cull (s); Gradio is measured as long after')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--floor', action='store_true', help="also Voila's floor: the same visitors opening a page of one button")
    a = ap.parse_args()
    python = gradio_env()
    rows = []
    for i in range(a.runs):
        ours = load_test.run(a.sessions, a.predictions, a.cull, a.ramp)
        theirs = run_gradio(python, a.sessions, a.predictions, a.ramp, after_s=a.cull + 15)
        rows.append((ours, theirs, run_floor(a.sessions) if a.floor else None))
    p = load_test.pct
    print(f'\n{a.sessions} visitors' + (f' over {a.ramp:.0f} s' if a.ramp else ' at once') +
          f', {a.predictions} predictions each; the same learner (adult_income); this machine, this run')
    print(f'  {"":<32} {"ours":>10} {"Gradio":>10} {"ours/Gradio":>12}')
    for k, (ours, theirs, floor) in enumerate(rows, 1):
        tag = f' (run {k})' if a.runs > 1 else ''
        for name, f in ((f'page open p50 (s){tag}', lambda d: p(d['open'], 50)), (f'page open p95 (s){tag}', lambda d: p(d['open'], 95)),
                        (f'prediction p50 (s){tag}', lambda d: p(d['latency'], 50)),
                        (f'prediction p95 (s){tag}', lambda d: p(d['latency'], 95)),
                        (f'memory before (MB){tag}', lambda d: d['before']), (f'memory at peak (MB){tag}', lambda d: d['peak']),
                        (f'memory after (MB){tag}', lambda d: d['after'])):
            x, y = f(ours), f(theirs)
            print(f'  {name:<32} {x:10.2f} {y:10.2f} {x / y:11.2f}x' if y else f'  {name:<32} {x:10.2f} {y:10.2f}')
        print(f'  {"memory after / before" + tag:<32} {ours["after"] / ours["before"]:10.2f} {theirs["after"] / theirs["before"]:10.2f}')
        if floor:
            y = p(theirs['open'], 95)
            print(f'  {"Voila floor p95 (s)" + tag:<32} {p(floor, 95):10.2f} {y:10.2f} {p(floor, 95) / y:11.2f}x')
    return 0 if all(o['ok'] and t['ok'] for o, t, _ in rows) else 1


if __name__ == '__main__':
    sys.exit(main())

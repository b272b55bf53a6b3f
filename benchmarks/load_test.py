"""Load: N concurrent sessions of the served tabular app, each making P predictions over the
widget protocol (what the page's JavaScript sends: set a field, click the button, read the result).

    .venv/bin/python benchmarks/load_test.py [--sessions 20] [--predictions 10] [--cull 30] [--ramp 0]
                                             [--design server|in-kernel]

Starts its own servers on free ports with a temporary prediction log: `--design server` (the
default) as `make serve` runs them (the model server and Voila with voila.json: thin kernels,
preheated pools, the kernel cap); `--design in-kernel` Voila alone, each kernel loading torch,
fastai and the models itself (the design before the model server: pools of 1, a cap of 24). Reports: sessions opened, predictions answered, latency
percentiles (page open, prediction), the server's memory (server + kernels) before, at the
peak and after the sessions closed and their kernels were culled (`--cull` seconds idle), as the sum of the
processes' proportional set sizes (PSS: pages that forked kernels share with their parent count once), and
that every answered prediction is in the log. `benchmarks/peer_gradio.py` runs it beside a Gradio app.
"""
import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from api_throughput import pct
from harness.voila_server import PeakWatch, VoilaServer, by_part, memory_mb, scratch
from harness.widget_client import open_app, together

print = __import__('functools').partial(print, flush=True)   # noqa: A001 - progress shows as it happens


async def session(url, k, n, out, delay=0.0):
    await asyncio.sleep(delay)
    t = time.perf_counter()
    try:
        c = await open_app(url, timeout=600)
    except Exception as e:  # noqa: BLE001 - counted and reported
        out['open_failed'].append(f'{type(e).__name__}: {e}'[:200])
        if args_verbose: print(f'  session {k}: {out["open_failed"][-1]}')
        return
    if args_verbose: print(f'  session {k}: opened in {time.perf_counter() - t:.1f} s')
    out['open'].append(time.perf_counter() - t)
    try:
        age, fnlwgt, button, result = (c.find(x) for x in ('app-input-age', 'app-input-fnlwgt', 'app-predict',
                                                          'app-result'))
    except (StopIteration, RuntimeError):
        out['open_failed'].append(f'the page\'s widgets did not all arrive ({len(c.states)} states)')
        c.close(); return
    rng = random.Random(k)
    for i in range(n):
        await c.update(age, value=str(rng.randint(18, 80)))      # number fields hold text
        await c.update(fnlwgt, value=str(100_000 + 1000 * k + i))   # unique: found again in the log
        t = time.perf_counter()
        text = await c.click_and_read(button, result, timeout=120)
        if text and 'Predicted salary' in text:
            out['latency'].append(time.perf_counter() - t); out['answered'].append(100_000 + 1000 * k + i)
        else:
            out['failed'].append(str(text)[:200])
    c.close()


args_verbose = False


def run(sessions=20, predictions=10, cull=30, ramp=0.0, design='server', verbose=False) -> dict:
    """Serve the apps (`design`), send the visitors, print what happened; the figures as a dict (`open` and `latency`
    in seconds, memory in MB: `before`, `peak`, `after`) and `ok`: every visitor served and every answer logged."""
    global args_verbose
    args_verbose = verbose
    tmp = scratch('fastai-apps-load-')
    log_db = tmp / 'predictions.db'
    extra = [f'--MappingKernelManager.cull_idle_timeout={cull}', '--MappingKernelManager.cull_interval=5',
             '--CappedKernelManager.max_kernels_per_address=0']    # the visitors are many people, all from 127.0.0.1 here
    if design == 'in-kernel':
        extra += ['--CappedKernelManager.max_kernels=24', '--VoilaKernelManager.kernel_pools_config={"default": {"pool_size": 1}}']
    with VoilaServer(['notebooks', *extra], env=dict(FASTAI_APPS_LOG=log_db), log=tmp / 'voila.log',
                     serve=design == 'server') as srv:
        print(f'{design} design: server {srv.url} (voila.json; cull after {cull} s idle); '
              'waiting for the preheated pools')
        srv.wait_for_pools(6)
        time.sleep(5)
        base, k0 = srv.usage()
        pss = lambda p: memory_mb([p])                              # noqa: E731
        parts0 = by_part(srv.processes(), pss)
        out = {k: [] for k in ('open', 'open_failed', 'latency', 'answered', 'failed')}
        t = time.perf_counter()
        with PeakWatch(srv.usage, (base, k0)) as watch:
            together([session(srv.url, k, predictions, out, k * ramp / sessions) for k in range(sessions)])
        wall, peak = time.perf_counter() - t, watch.peak
        print(f'{sessions} sessions x {predictions} predictions in {wall:.0f} s'
              + (f' (arrivals spread over {ramp:.0f} s)' if ramp else ' (all arriving at once)'))
        n = sessions * predictions
        print(f'  sessions opened        {len(out["open"])}/{sessions}'
              + (f'  (failed: {out["open_failed"][:3]})' if out['open_failed'] else ''))
        print(f'  predictions answered   {len(out["answered"])}/{n} ({len(out["answered"]) / n:.1%})'
              + (f'  (failed: {out["failed"][:3]})' if out['failed'] else ''))
        for name, xs in (('page open (s)', out['open']), ('prediction (ms)', [x * 1000 for x in out['latency']])):
            if xs:
                print(f'  {name:<22} p50 {pct(xs, 50):8.1f}  p95 {pct(xs, 95):8.1f}  p99 {pct(xs, 99):8.1f}  '
                      f'max {max(xs):8.1f}')
        print(f'  server memory (PSS)    before {base:7.0f} MB ({k0} pooled kernels)   '
              f'peak {peak[0]:7.0f} MB ({peak[1]} kernels)')
        t = time.time()
        while time.time() - t < cull + 120:
            m, k = srv.usage()
            if k <= k0: break
            time.sleep(2)
        time.sleep(5)
        after, k = srv.usage()
        print(f'  after the sessions     {after:7.0f} MB ({k} kernels) {time.time() - t:.0f} s after they closed: '
              f'{after / base:.2f}x the memory before')
        parts1 = by_part(srv.processes(), pss)
        print('    by part, before -> after: ' + ', '.join(f'{k} {parts0.get(k, 0):.0f} -> {v:.0f} MB' for k, v in parts1.items()))
    from predictors.monitoring.log import PredictionLog
    df = PredictionLog(log_db).read(model='adult_income')
    logged = set(df['inputs'].map(lambda d: d.get('fnlwgt')))
    missing = [h for h in out['answered'] if h not in logged]
    print(f'  prediction log         {len(df)} rows; answered predictions missing from it: {len(missing)}')
    ok = not out['open_failed'] and not out['failed'] and not missing
    return dict(open=out['open'], latency=out['latency'], before=base, peak=peak[0], after=after, ok=ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sessions', type=int, default=20); ap.add_argument('--predictions', type=int, default=10)
    ap.add_argument('--cull', type=int, default=30, help='idle seconds before a kernel is culled (voila.json: 900)')
    ap.add_argument('--ramp', type=float, default=0, help='spread the arrivals evenly over this many seconds '
                    '(default 0: all at once)')
    ap.add_argument('--verbose', action='store_true', help='a line per session as it opens')
    ap.add_argument('--design', choices=('server', 'in-kernel'), default='server',
                    help='server: thin kernels and the model server (make serve); in-kernel: models in every kernel')
    a = ap.parse_args()
    return 0 if run(a.sessions, a.predictions, a.cull, a.ramp, a.design, a.verbose)['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())

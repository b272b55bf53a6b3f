"""Time to interactive of an app in headless Chromium, and the memory of the visitor's kernel, for
both designs side by side: `server` (as `make serve`: thin kernels, the models in the model server)
and `in-kernel` (Voila alone, every kernel loading torch, fastai and the models), each with a warm
preheated kernel pool and cold (preheating off), each on its own servers on free ports.

    .venv/bin/python benchmarks/time_to_interactive.py [--runs 3] [--app tabular_app.ipynb]

'Interactive' is when the app's main control is visible (the form is built and the widgets are
connected). Kernel memory is the USS (memory of that process alone) once the page is interactive.
The floor is Voila's own: a preheated notebook holding one button, served the same way.
"""
import argparse
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from harness.voila_server import VoilaServer, scratch

READY = {'tabular_app.ipynb': '.app-predict', 'image_app.ipynb': '.app-upload', '00_verify_setup.ipynb': '.app-checks',
         'floor.ipynb': '.app-predict'}


def floor_notebook() -> Path:
    "A folder with voila.json and a notebook of one button: the least a Voila page can take."
    import json
    import shutil
    d = scratch('fastai-apps-floor-')
    shutil.copy(ROOT / 'voila.json', d / 'voila.json')
    cell = dict(cell_type='code', metadata={}, outputs=[], execution_count=None,
                source="import ipywidgets as W\nb = W.Button(description='Go'); b.add_class('app-predict'); b")
    (d / 'floor.ipynb').write_text(json.dumps(dict(cells=[cell], metadata=dict(kernelspec=dict(
        name='python3', display_name='Python 3', language='python')), nbformat=4, nbformat_minor=5)))
    return d
print = __import__('functools').partial(print, flush=True)   # noqa: A001


def measure(browser, srv, app, runs, settle):
    times, uss = [], []
    for _ in range(runs):
        time.sleep(settle)                     # let the pool (re)fill when preheating
        ctx = browser.new_context(); page = ctx.new_page()
        t = time.perf_counter()
        page.goto(srv.url if app == 'floor.ipynb' else srv.app(app))
        page.wait_for_selector(READY[app], state='visible', timeout=180_000)
        times.append(time.perf_counter() - t)
        kid = re.search(r'"kernelId": "([0-9a-f-]{36})"', page.content()).group(1)
        uss.append(srv.kernels()[kid].memory_full_info().uss / 2**20)
        ctx.close()
    return times, uss


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--app', default='tabular_app.ipynb'); ap.add_argument('--settle', type=float, default=20)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    res = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', args=[
            '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync'])
        for design in ('in-kernel', 'server'):
            for label, preheat, settle in (('warm', True, args.settle), ('cold', False, 3)):
                extra = [f'--preheat_kernel={preheat}']
                if design == 'in-kernel': extra.append('--VoilaKernelManager.kernel_pools_config={"default": {"pool_size": 1}}')
                with VoilaServer(['notebooks', *extra], serve=design == 'server') as srv:
                    if design == 'server': time.sleep(10)       # the model server loads the models
                    res[design, label] = measure(browser, srv, args.app, args.runs, settle)
                t, u = res[design, label]
                print(f'  {design:<10} {label}: {", ".join(f"{x:.2f}" for x in t)} s; kernel USS '
                      f'{", ".join(f"{x:.0f}" for x in u)} MB')
        d = floor_notebook()
        with VoilaServer([str(d / 'floor.ipynb')], cwd=d) as srv:
            res['floor'] = measure(browser, srv, 'floor.ipynb', args.runs, args.settle)
        browser.close()
    med = lambda xs: statistics.median(xs)
    print(f'\ntime to interactive of {args.app} in headless Chromium, median of {args.runs} runs; '
          'kernel memory (USS) of the visitor\'s kernel')
    print(f'  {"design":<34} {"warm":>7} {"cold":>7} {"kernel USS":>11}')
    for design, what in (('in-kernel', 'in-kernel (models in every kernel)'), ('server', 'server (thin kernels, model server)')):
        w, c = res[design, 'warm'], res[design, 'cold']
        print(f'  {what:<34} {med(w[0]):6.2f}s {med(c[0]):6.2f}s {med(w[1] + c[1]):8.0f} MB')
    print(f'  {"floor: Voila, one button":<34} {med(res["floor"][0]):6.2f}s')
    ik, sv = res['in-kernel', 'warm'], res['server', 'warm']
    print(f'  server vs in-kernel: warm {med(ik[0]) / med(sv[0]):.1f}x faster, cold '
          f'{med(res["in-kernel", "cold"][0]) / med(res["server", "cold"][0]):.1f}x faster, kernel memory '
          f'{med(ik[1]) / med(sv[1]):.1f}x smaller')


if __name__ == '__main__':
    main()

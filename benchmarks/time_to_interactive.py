"""Time-to-interactive of the tabular app in headless Chromium, with a warm preheated kernel pool
and cold (preheating off), each on its own Voila server started by this script on a free port.

    .venv/bin/python benchmarks/time_to_interactive.py [--runs 3] [--app tabular_app.ipynb]

'Interactive' is when the "Get prediction" button is visible (the form is built and the widgets
are connected).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests'))
from voila_server import VoilaServer  # noqa: E402

READY = {'tabular_app.ipynb': '.app-predict', 'image_app.ipynb': '.app-upload', '00_verify_setup.ipynb': '.app-checks'}


def measure(browser, url, app, runs, settle):
    times = []
    for _ in range(runs):
        time.sleep(settle)                     # let the pool (re)fill when preheating
        ctx = browser.new_context(); page = ctx.new_page()
        t = time.perf_counter()
        page.goto(url + 'voila/render/' + app)
        page.wait_for_selector(READY[app], state='visible', timeout=180_000)
        times.append(time.perf_counter() - t)
        ctx.close()
    return times


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--app', default='tabular_app.ipynb'); ap.add_argument('--settle', type=float, default=30)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    res = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', args=[
            '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync'])
        for label, preheat, settle in (('warm (preheated pool)', True, args.settle), ('cold (no preheat)', False, 3)):
            with VoilaServer(['notebooks', f'--preheat_kernel={preheat}']) as srv:
                res[label] = measure(browser, srv.url, args.app, args.runs, settle)
        browser.close()
    print(f'time to interactive of {args.app} in headless Chromium ({args.runs} runs each)')
    for k, v in res.items():
        print(f'  {k:<22} median {statistics.median(v):5.2f} s   runs: {", ".join(f"{x:.2f}" for x in v)}')
    w, c = (statistics.median(v) for v in res.values())
    print(f'  warm is {c / w:.1f}x faster than cold')


if __name__ == '__main__':
    main()

"""Visitors of the Gradio peer (#29), run in .venv-gradio: each opens the page (GET /: the HTML with the app's
config, all the page needs from the server before a person can use it), then makes P predictions with Gradio's
own client (the queue, as the page's JavaScript uses it). Prints the timings as JSON.

    .venv-gradio/bin/python benchmarks/peer/gradio_driver.py URL SESSIONS PREDICTIONS [RAMP]
"""
import json
import random
import sys
import threading
import time

import httpx
from gradio_client import Client

url, sessions, predictions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ramp = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
out = {'open': [], 'latency': [], 'failed': []}
start = threading.Barrier(sessions)


def visitor(k):
    start.wait()
    time.sleep(k * ramp / sessions)
    t = time.perf_counter()
    try:
        r = httpx.get(url, timeout=600)
        r.raise_for_status()
    except Exception as e:  # noqa: BLE001 - counted and reported
        out['failed'].append(f'page: {type(e).__name__}: {e}'[:200]); return
    out['open'].append(time.perf_counter() - t)
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    api = client.view_api(return_format='dict', print_info=False)['named_endpoints']['/predict']
    defaults = {p['label']: (p.get('parameter_default') if p.get('parameter_has_default') else 0) for p in api['parameters']}
    rng = random.Random(k)
    for i in range(predictions):
        values = dict(defaults, age=rng.randint(18, 80), fnlwgt=100_000 + 1000 * k + i)
        t = time.perf_counter()
        try:
            answer = client.predict(*values.values(), api_name='/predict')
            assert answer.get('label'), answer
            out['latency'].append(time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001 - counted and reported
            out['failed'].append(f'prediction: {type(e).__name__}: {e}'[:200])
    client.close()


threads = [threading.Thread(target=visitor, args=(k,)) for k in range(sessions)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(out))

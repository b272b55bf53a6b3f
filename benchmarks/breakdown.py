"""Where one visitor's page and answers spend their time (#29): the served tabular app as `make serve` runs it, one
visitor at a time, each phase timed apart.

    .venv/bin/python benchmarks/breakdown.py [--visitors 5] [--predictions 5] [--at-once]

Per visitor: the page's HTTP render (Voilà hands over a preheated kernel and sends the notebook's output), the
kernel's websocket, the widget states the page receives (how many, how many bytes), and per prediction: the
answer on the page (the result widget's new value), the kernel idle again, then the explanation once *Why this
answer?* is clicked. Beside them, the
model server called directly over HTTP: `/v1/…/predict` and `/v1/…/explain` for one record, so the kernel's and
the widgets' share is what remains. Medians (and the largest) over the visitors and predictions. `--at-once`:
the visitors arrive together (a burst), so the phases show where a burst's time goes.
"""
import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from harness.voila_server import VoilaServer, part_of, scratch
from harness.widget_client import WidgetClient, connect_kernel, open_page, together


async def visitor(url, k, n, t):
    "One visitor: the page, its kernel, its widgets, `n` predictions; the phases' times added to `t`."
    t0 = time.perf_counter()
    ws_url, cookie = await open_page(url)
    t['page render (HTTP)'].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    c = WidgetClient(await connect_kernel(ws_url, cookie))
    t['kernel websocket'].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    await c.widget_states()
    t['widget states'].append(time.perf_counter() - t0)
    t['widget states (count)'].append(len(c.states))
    t['widget states (KB)'].append(len(json.dumps(c.states, default=str)) / 1024)
    age, button, result, why = (c.find(x) for x in ('app-input-age', 'app-predict', 'app-result', 'app-why-open'))

    async def click(comm_id):
        mid = await c.send('comm_msg', {'comm_id': comm_id, 'data': {'method': 'custom', 'content': {'event': 'click'}}})
        return lambda m: (m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle'
                          and m['parent_header'].get('msg_id') == mid)
    for i in range(n):
        await c.update(age, value=str(20 + 7 * i + k))
        old = c.states[result].get('value')
        t0 = time.perf_counter()
        idle = await click(button)
        await c.read_until(lambda m: (m['msg_type'] == 'comm_msg' and m['content']['comm_id'] == result
                                      and m['content']['data'].get('state', {}).get('value', old) != old), 60)
        t['answer on the page'].append(time.perf_counter() - t0)
        await c.read_until(idle, 120)
        t['answer, kernel idle'].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await c.read_until(await click(why), 120)              # *Why this answer?* asked (#29: only then worked out)
        t['explanation when asked'].append(time.perf_counter() - t0)
    c.close()


def cpu_by_part(srv) -> dict:
    "CPU seconds used so far by each process of the served tree, with its part (`part_of`)."
    return {(part_of(p), p.pid): sum(p.cpu_times()[:2]) for p in srv.processes()}


def cpu_used(srv, before: dict) -> dict:
    "{part: the CPU seconds its processes used since `before` (a `cpu_by_part`)}."
    used = {}
    for (part, pid), c in cpu_by_part(srv).items(): used[part] = used.get(part, 0) + c - before.get((part, pid), 0)
    return used


def server_side(api_url, token, n, t):
    "The model server alone: one record's answer and its explanation over HTTP."
    import httpx
    h = {'Authorization': f'Bearer {token}'} if token else {}
    with httpx.Client(base_url=api_url, headers=h, timeout=120) as http:
        for i in range(n):
            rec = {'records': [{'age': 25 + i, 'education': 'Bachelors'}]}
            t0 = time.perf_counter(); http.post('/v1/models/adult_income/predict', json=rec).raise_for_status()
            t['model server: predict'].append(time.perf_counter() - t0)
            t0 = time.perf_counter(); http.post('/v1/models/adult_income/explain', json=rec).raise_for_status()
            t['model server: explain'].append(time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--visitors', type=int, default=5); ap.add_argument('--predictions', type=int, default=5)
    ap.add_argument('--at-once', action='store_true', help='the visitors arrive together instead of one after another')
    a = ap.parse_args()
    tmp = scratch('fastai-apps-breakdown-')
    t = {k: [] for k in ('page render (HTTP)', 'kernel websocket', 'widget states', 'widget states (count)',
                         'widget states (KB)', 'answer on the page', 'answer, kernel idle', 'explanation when asked',
                         'model server: predict', 'model server: explain')}
    token = 'breakdown-' + __import__('os').urandom(12).hex()       # what a program shows the model server
    with VoilaServer(['notebooks'], env=dict(FASTAI_APPS_LOG=tmp / 'predictions.db', FASTAI_APPS_API_TOKEN=token),
                     log=tmp / 'voila.log', serve=True) as srv:
        srv.wait_for_pools(6)
        time.sleep(3)
        cpu0, t0 = cpu_by_part(srv), time.perf_counter()
        if a.at_once:
            together([visitor(srv.url, k, a.predictions, t) for k in range(a.visitors)])
        else:
            for k in range(a.visitors):
                asyncio.run(visitor(srv.url, k, a.predictions, t))
                time.sleep(2)                              # the pool refills before the next visitor
        parts, wall = cpu_used(srv, cpu0), time.perf_counter() - t0
        server_side(srv.api_url, token, a.visitors * a.predictions, t)
    print(f'{a.visitors} visitors {"arriving together" if a.at_once else "one after another"}, '
          f'{a.predictions} predictions each (median, max)')
    for name, xs in ((k, v) for k, v in t.items() if v):
        unit = '' if name.endswith(('(count)', '(KB)')) else ' ms'
        scale = 1 if unit == '' else 1000
        print(f'  {name:<26} {statistics.median(xs) * scale:9.1f}{unit}   max {max(xs) * scale:9.1f}{unit}')
    print(f'CPU used by the server while the visitors came ({wall:.1f} s; kernels culled meanwhile not counted)')
    for part, used in sorted(parts.items(), key=lambda x: -x[1]):
        print(f'  {part:<26} {used:9.1f} s   {used / a.visitors * 1000:7.0f} ms a visitor')


if __name__ == '__main__':
    main()

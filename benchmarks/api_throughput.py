"""The model server under concurrent clients: single-row tabular requests with 1, 8 and 32 clients,
and single-image requests from 16 clients against one client at a time (with and without the
batch queue that lets concurrent image requests share forward passes).

    .venv/bin/python benchmarks/api_throughput.py [--seconds 10]

Starts its own model servers (`python -m predictors api`) on free ports with a temporary log.
Clients are asyncio (httpx), on the same 2-core machine as the server.
"""
import argparse
import asyncio
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
from harness.voila_server import ApiServer, scratch

print = __import__('functools').partial(print, flush=True)   # noqa: A001


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float('nan')


async def run(url, clients, seconds, make_request):
    "Each client sends requests back to back for `seconds`; (requests/s, latencies in ms, failures)."
    lat, failed = [], 0
    end = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=clients)) as h:
        async def client(k):
            nonlocal failed
            i = 0
            while time.perf_counter() < end:
                t = time.perf_counter()
                r = await make_request(h, k, i)
                if r.status_code == 200: lat.append((time.perf_counter() - t) * 1000)
                else: failed += 1
                i += 1
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return len(lat) / wall, lat, failed


def tabular_request(h, k, i):
    rec = {'age': 20 + (k * 7 + i) % 60, 'workclass': ' Private', 'education': ' Bachelors', 'hours-per-week': 40}
    return h.post('/v1/models/adult_income/predict', json={'records': [rec]})


def image_request(images):
    def req(h, k, i):
        name, data = images[(k + i) % len(images)]
        return h.post('/v1/models/fruits/predict', files=[('files', (name, data))], params={'top': 3})
    return req


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--seconds', type=float, default=10)
    args = ap.parse_args()
    tmp = scratch('fastai-apps-api-bench-')
    images = [(f.name, f.read_bytes()) for f in sorted(p for p in (ROOT / 'test_images').iterdir() if p.suffix in ('.png', '.jpg'))]
    print(f'model server, {args.seconds:.0f} s per row, clients on the same machine')
    with ApiServer(env=dict(FASTAI_APPS_LOG=tmp / 'log.db'), log=tmp / 'api.log') as api:
        api.wait_ready()
        asyncio.run(run(api.url, 4, 2, tabular_request))                 # warm up
        print('tabular, one row per request')
        for n in (1, 8, 32):
            rps, lat, failed = asyncio.run(run(api.url, n, args.seconds, tabular_request))
            print(f'  {n:>2} client(s)   {rps:7.1f} requests/s   p50 {pct(lat, 50):6.1f} ms   '
                  f'p95 {pct(lat, 95):6.1f} ms' + (f'   failed {failed}' if failed else ''))
        asyncio.run(run(api.url, 4, 2, image_request(images)))
        print('images, one image per request')
        one, lat1, _ = asyncio.run(run(api.url, 1, args.seconds, image_request(images)))
        print(f'   1 client       {one:7.1f} images/s     p50 {pct(lat1, 50):6.1f} ms   p95 {pct(lat1, 95):6.1f} ms')
        many, lat16, failed = asyncio.run(run(api.url, 16, args.seconds, image_request(images)))
        print(f'  16 clients      {many:7.1f} images/s     p50 {pct(lat16, 50):6.1f} ms   p95 {pct(lat16, 95):6.1f} ms'
              f'   (batched)' + (f'   failed {failed}' if failed else ''))
    with ApiServer(env=dict(FASTAI_APPS_LOG=tmp / 'log2.db', FASTAI_APPS_BATCH_IMAGES='0'), log=tmp / 'api2.log') as api:
        api.wait_ready()
        asyncio.run(run(api.url, 4, 2, image_request(images)))
        nob, latn, failed = asyncio.run(run(api.url, 16, args.seconds, image_request(images)))
        print(f'  16 clients      {nob:7.1f} images/s     p50 {pct(latn, 50):6.1f} ms   p95 {pct(latn, 95):6.1f} ms'
              f'   (batch queue off)' + (f'   failed {failed}' if failed else ''))
    print(f'  16 batched clients: {many / one:.1f}x the images/s of one client at a time, '
          f'{many / nob:.1f}x 16 clients without the batch queue')


if __name__ == '__main__':
    main()

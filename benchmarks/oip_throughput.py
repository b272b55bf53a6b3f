"""The Open Inference Protocol's cost (#30): `/v2/models/adult_income/infer` against `/v1/models/adult_income/predict`,
the same rows, one client and 8 clients, one row and 256 rows a request, in the same run: requests/s and p95.
`/v2` is sent as JSON tensors and as binary tensors (Triton's extension, tritonclient's default).

    .venv/bin/python benchmarks/oip_throughput.py [--seconds 8]

Starts its own model server on a free port with a temporary log; the clients share the 2 cores with it.
"""
import argparse
import asyncio
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from api_throughput import pct, run
from harness.voila_server import ApiServer, scratch

print = __import__('functools').partial(print, flush=True)   # noqa: A001


def bodies(card, rows) -> dict:
    "{protocol: (path, request keyword arguments)} for the same `rows`, the tensors as the model's metadata names them."
    from predictors.kinds import kind
    val = lambda t, r: str(r[t['name']]) if t['datatype'] == 'BYTES' else r[t['name']]     # noqa: E731
    tensors = [dict(name=t['name'], shape=[len(rows)], datatype=t['datatype'], data=[val(t, r) for r in rows])
               for t in kind(card['task']).tensors(card)['inputs']]
    head, blob = [], b''
    for t in tensors:
        if t['datatype'] == 'BYTES': b = b''.join(struct.pack('<I', len(x.encode())) + x.encode() for x in t['data'])
        else: b = struct.pack(f'<{len(rows)}{"q" if t["datatype"] == "INT64" else "d"}', *t['data'])
        head.append({k: v for k, v in t.items() if k != 'data'} | {'parameters': {'binary_data_size': len(b)}}); blob += b
    h = json.dumps({'inputs': head, 'parameters': {'binary_data_output': True}}).encode()
    return {'/v1 JSON records': ('/v1/models/adult_income/predict', dict(json={'records': rows})),
            '/v2 JSON tensors': ('/v2/models/adult_income/infer', dict(json={'inputs': tensors})),
            '/v2 binary tensors': ('/v2/models/adult_income/infer', dict(content=h + blob, headers={
                'Inference-Header-Content-Length': str(len(h)), 'Content-Type': 'application/octet-stream'}))}


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--seconds', type=float, default=8)
    a = ap.parse_args()
    from predictors import ModelStore
    card = ModelStore(ROOT / 'models').card('adult_income')
    default = {c['name']: c['default'] for c in card['schema']['inputs']}
    tmp = scratch('fastai-apps-oip-')
    with ApiServer(env=dict(FASTAI_APPS_LOG=tmp / 'log.db'), log=tmp / 'api.log') as srv:
        srv.wait_ready()
        for n in (1, 256):
            rows = [dict(default, age=20 + i % 60) for i in range(n)]
            for clients in (1, 8):
                print(f'{n} row{"s" if n > 1 else ""} a request, {clients} client{"s" if clients > 1 else ""}')
                base = None
                for name, (path, kw) in bodies(card, rows).items():
                    rps, lat, failed = asyncio.run(run(srv.url, clients, a.seconds, lambda h, _k, _i, p=path, kw=kw: h.post(p, **kw)))
                    base = base or rps
                    print(f'  {name:<20} {rps:8.1f} requests/s   p50 {pct(lat, 50):7.1f} ms   p95 {pct(lat, 95):7.1f} ms'
                          f'   {rps / base:5.2f}x /v1' + (f'   ({failed} failed)' if failed else ''))


if __name__ == '__main__':
    main()

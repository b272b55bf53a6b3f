"""How fast a language model answers, against fastai's `learn.predict` in the same run, and 16 writers at once.

The demo `sms_writer`: the next-word distribution after a beginning (ours: `LMPredictor.probabilities`, one forward
pass; fastai: `learn.get_preds` on the beginning, as `predict` does per word) and 20 words of continuation (ours:
`LMPredictor.continuation`, the beginning read once and each drawn token alone, the hidden state carried; fastai:
`learn.predict(text, n_words=20)`, which reads everything again for every word). Both write the same words for the
same seed (tests/test_lm.py). Then 16 visitors at once: 16 threads each streaming 40 words from the model server
(`/v1/.../generate`, `stream`), the time to each one's first word and to its last against one writer alone.
Goal (#41): 20 words ≥ 3× faster than `learn.predict`; no writer waits for the others to finish.

    .venv/bin/python benchmarks/generate.py
"""
import json
import statistics
import tempfile
import threading
import time
import warnings
from pathlib import Path

from harness.timing import best

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')
BEGINNINGS = ['See you', 'I will call you when I get home', 'Sorry, I can\'t make it tonight, can we meet tomorrow?']


def _one_thread():
    import torch
    from predictors import ModelStore, load_predictor
    torch.set_num_threads(1)
    pred = load_predictor('sms_writer', ModelStore(ROOT / 'models'))
    learn = pred.learn
    print('one beginning at a time (one thread)')
    for text in BEGINNINGS:
        ids = pred.prompt(text)[1]
        with learn.no_bar():
            dl = [(learn.dls.test_dl([text]).items[0][None],)]
            theirs_next = best(lambda: (learn.model.reset(), learn.get_preds(dl=dl)), 10)
            theirs = best(lambda: learn.predict(text, n_words=20, no_bar=True), 5)
        ours_next = best(lambda: pred.probabilities(ids), 10)
        ours = best(lambda: pred.continuation(text, 20, 1.0, 0), 5)
        print(f'  {len(ids) - 1:3d} tokens in: next-word distribution ours {ours_next * 1000:6.2f} ms, get_preds '
              f'{theirs_next * 1000:6.2f} ms ({theirs_next / ours_next:4.1f}x); 20 words ours {ours * 1000:7.1f} ms, '
              f'learn.predict {theirs * 1000:7.1f} ms ({theirs / ours:4.1f}x, goal ≥ 3x)')


def _writers(n: int = 16, words: int = 40):
    from harness.voila_server import demo_model_server

    def write(http, seed, out):
        t0 = time.perf_counter(); first = None
        with http.stream('POST', '/v1/models/sms_writer/generate',
                         json=dict(text=BEGINNINGS[seed % 3], words=words, seed=seed, stream=True)) as r:
            for line in r.iter_lines():
                if line and first is None: first = time.perf_counter() - t0
                if line and 'token' not in json.loads(line): break
        out[seed] = (first, time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as d, demo_model_server(Path(d), timeout=300) as srv:
        srv.wait_ready()
        alone = {}
        for s in range(3): write(srv.http, s, alone)
        one = min(t for _, t in alone.values())
        got = {}
        threads = [threading.Thread(target=write, args=(srv.http, s, got)) for s in range(n)]
        t0 = time.perf_counter()
        for t in threads: t.start()
        for t in threads: t.join()
        wall = time.perf_counter() - t0
    firsts, lasts = [f for f, _ in got.values()], [t for _, t in got.values()]
    print(f'{n} writers at once through the model server ({words} words each, streamed)')
    print(f'  one alone: {one * 1000:.0f} ms; all {n}: {wall * 1000:.0f} ms in all ({wall / one:.1f}x one alone)')
    print(f'  first word: median {statistics.median(firsts) * 1000:.0f} ms, slowest {max(firsts) * 1000:.0f} ms; '
          f'last word: median {statistics.median(lasts) * 1000:.0f} ms, slowest {max(lasts) * 1000:.0f} ms')
    print(f'  every writer\'s first word came before the first writer finished: {max(firsts) < min(lasts)}')


if __name__ == '__main__':
    _one_thread()
    _writers()

"""What a fastai language model (`language_model_learner`: an `LMLearner`) answers: the words most likely to come next
(`next_words`: the learner's own softmax) and a continuation written a token at a time (`write`), equal to
`learn.predict(text, n_words, temperature=…)` after `torch.manual_seed(seed)`.

fastai reads the whole text again for every word it adds (`get_preds` resets the model). Here the prompt is read once
and each drawn token alone, the model's hidden state carried between them (`Steps`: the AWD-LSTM's own layers called
with an explicit state, so one loaded model serves many writers at once). The draws are fastai's: the softmax of
the last position, `xxunk` set to 0, raised to 1/temperature, one `torch.multinomial` from a generator seeded with
`seed` (fastai draws from torch's global generator, which `torch.manual_seed(seed)` seeds the same way); temperature 0
takes the most likely token instead. A model without an AWD-LSTM encoder is read from the start for every token, as
fastai does. Prompts are checked as a text classifier's messages (`clean_text`).
"""
from __future__ import annotations

import math
import secrets
import threading
import time

import numpy as np

from predictors.core.errors import ModelError
from predictors.core.results import Prediction, log_entries
from predictors.core.written import MOST_TEMPERATURE, MOST_WORDS, Continuation, NextWord, Piece
from predictors.kinds.tables.predictor import AnswersRows
from predictors.kinds.words import SPECIAL, clean_text, text_parts

__all__ = ['LMPredictor', 'Steps', 'decode', 'check_request', 'NEXT_K', 'WordsBatch']

NEXT_K = 5                 # the next words an answer lists (the app's keyboard)
UNSAID = {'xxbos', 'xxpad'}   # tokens fastai leaves out of the text it returns


def decode(tokens: list[str], sep: str = ' ') -> str:
    "Tokens as fastai's `decode_spec_tokens` writes them (xxmaj: a capital, xxup: capitals, xxrep/xxwrep: repeats)."
    from fastai.text.learner import decode_spec_tokens
    return sep.join(decode_spec_tokens([t for t in tokens if t not in UNSAID]))


def check_request(words, temperature, seed) -> tuple[int, float, int | None]:
    "`(words, temperature, seed)` as numbers in their bounds, or `ModelError` saying the bounds."
    def number(v, what, kind):
        if isinstance(v, bool): raise ModelError(f'{what} is a number, not {v!r}.')
        try:
            x = kind(v) if kind is float or float(v) == int(float(v)) else None
        except (TypeError, ValueError, OverflowError):
            x = None
        if x is None or (kind is float and not math.isfinite(x)): raise ModelError(f'{what} is a number, not {v!r}.')
        return x
    n = number(words, 'words', int)
    if not 1 <= n <= MOST_WORDS:
        raise ModelError(f'words is how many to write: from 1 to {MOST_WORDS} in one request, not {n:,} (ask again '
                         f'with the text so far to go on).')
    t = number(temperature, 'temperature', float)
    if not 0 <= t <= MOST_TEMPERATURE:
        raise ModelError(f'temperature runs from 0 (always the most likely word) to {MOST_TEMPERATURE:g} (bolder), '
                         f'not {t:g}.')
    s = None if seed is None or seed == '' else number(seed, 'seed', int)
    if s is not None and not 0 <= s < 2 ** 63: raise ModelError(f'seed is a whole number from 0 to 2**63-1, not {s}.')
    return n, t, s


def _blank(v):
    "None for an empty cell (a CSV's NaN, '')."
    return None if v is None or v == '' or (isinstance(v, float) and v != v) else v


class Steps:
    """An AWD-LSTM language model read with an explicit hidden state (`start`, then `read(ids, state)` → the next token's
    logits and the new state): its embedding, LSTM layers and decoder called directly, never its stored state."""

    def __init__(self, model):
        enc, dec = model[0], model[1]
        self.emb = enc.encoder
        self.rnns = []
        for r in enc.rnns:
            if hasattr(r, '_setweights'): r._setweights()       # in eval mode: the raw weights, as fastai reads them
            self.rnns.append(getattr(r, 'module', r))
        self.dec = dec.decoder

    @staticmethod
    def fits(model) -> bool:
        "Whether `model` is an AWD-LSTM encoder and a linear decoder, read one-directionally."
        try:
            enc, dec = model[0], model[1]
        except (TypeError, IndexError):
            return False
        return (type(enc).__name__ == 'AWD_LSTM' and getattr(enc, 'n_dir', 1) == 1 and hasattr(dec, 'decoder')
                and all(type(getattr(r, 'module', r)).__name__ == 'LSTM' for r in enc.rnns))

    def read(self, ids, state=None):
        "The logits (vocab) after the token ids `ids` (a LongTensor), read after `state` (None: the start)."
        x = self.emb(ids[None])
        new = []
        for l, rnn in enumerate(self.rnns):
            x, h = rnn(x, None if state is None else state[l])
            new.append(h)
        return self.dec(x[0, -1]), new


class WordsBatch:
    "Continuations of many prompts (a CSV, records): iterable of `Prediction`s; `scored(df)` adds their columns."

    def __init__(self, written: list, seconds: float):
        self.written, self.seconds = written, seconds
        self.errors = {i: c.error for i, c in enumerate(written) if c.error}

    def __len__(self): return len(self.written)

    def __getitem__(self, i) -> Prediction:
        c = self.written[i]
        if c.error: return Prediction(error=c.error, warnings=c.warnings)
        return Prediction(c.continuation, {n.word: n.probability for n in c.next}, list(c.warnings))

    def __iter__(self): return (self[i] for i in range(len(self)))

    def scored(self, df):
        "`df` with `continuation`, `seed`, `next_words` (the likeliest next words, with their probabilities) and `problem`."
        import pandas as pd
        from predictors.core.csvio import spreadsheet_safe, whole_numbers
        from predictors.core.results import ERROR_PREFIX
        out = spreadsheet_safe(whole_numbers(df))
        out['continuation'] = [None if c.error else c.continuation for c in self.written]
        out['seed'] = pd.array([None if c.error else c.seed for c in self.written], dtype='Int64')   # the seed used
        out['next_words'] = ['' if c.error else '; '.join(f'{n.word} {n.probability:.3f}' for n in c.next)
                             for c in self.written]
        out['problem'] = [ERROR_PREFIX + c.error if c.error else '; '.join(c.warnings) for c in self.written]
        return spreadsheet_safe(out)


class LMPredictor(AnswersRows):
    "A language model's next words and continuations (see the module's docstring)."
    task = 'language_model'
    options = ('words', 'temperature', 'seed')

    def __init__(self, learn, card: dict | None = None):
        import torch
        self.learn, self.card = learn, card or {}
        self.name, self.version = self.card.get('name'), self.card.get('version')
        self.model = learn.model.eval()
        self.tok, self.num = text_parts(learn)
        self.vocab = [str(v) for v in self.num.vocab]
        self.o2i = {v: i for i, v in enumerate(self.vocab)}
        self.unk = self.o2i.get('xxunk', 0)
        self.sep = getattr(self.tok, 'sep', ' ') or ' '
        s = self.card.get('schema') or {}
        self.column = s.get('text_column') or 'text'
        self.inputs = [dict(name=self.column, kind='text')]
        self.defaults = {'words': 20, 'temperature': 1.0, **(self.card.get('writing') or {})}
        self.steps = Steps(self.model) if Steps.fits(self.model) else None
        self._lock = threading.Lock()             # a model read from its own stored state: one writer at a time
        self.special = np.array([v in SPECIAL for v in self.vocab])
        self._torch = torch

    # ---- reading ------------------------------------------------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        "The tokens the model reads for a text (the learner's rules and tokenizer: 'xxbos', 'xxmaj', …)."
        return [str(t) for t in self.tok(text)]

    def ids(self, tokens: list[str]):
        return self.num(tokens)

    def prompt(self, text) -> tuple[list[str] | None, object, str | None, list]:
        "`(tokens, ids, error, warnings)` of a prompt, checked as a message is."
        text, err, warns = clean_text(text)
        if err: return None, None, err.replace('message', 'text'), warns
        toks = self.tokens(text)
        return toks, self.ids(toks), None, warns

    def unknown(self, tokens: list[str], ids) -> list[str]:
        "The prompt's words the model does not know (read as xxunk), each once."
        return list(dict.fromkeys(t for t, i in zip(tokens, ids.tolist()) if i == self.unk and t not in SPECIAL))

    def _logits(self, ids, state, new_ids=None):
        """The next token's logits after `ids` (the whole sequence so far) and the state to carry on from; `new_ids`:
        the tokens added since `state` (read alone when the model can be stepped)."""
        torch = self._torch
        with torch.inference_mode():
            if self.steps is not None:
                return self.steps.read(ids if state is None else new_ids, state)
            with self._lock:
                self.model.reset()
                return self.model(ids[None])[0][0, -1], None

    def probabilities(self, ids):
        "The learner's softmax over its vocabulary for the token after `ids` (float32 numpy)."
        return self._torch.softmax(self._logits(ids, None)[0].float(), -1).numpy()

    def next_words(self, probs, k: int = NEXT_K) -> list[NextWord]:
        "The `k` likeliest words (special tokens aside) of a distribution."
        p = np.where(self.special, -1.0, probs)
        top = np.argsort(-p, kind='stable')[:k]
        return [NextWord(self.vocab[i], float(probs[i])) for i in top]

    # ---- writing ------------------------------------------------------------------------------------------------
    def write(self, text, words=None, temperature=None, seed=None, next_k: int = NEXT_K, stop=None):
        """Write after `text` a token at a time: yields a `Piece` per token drawn, then the `Continuation` (an error:
        only the `Continuation`). `stop()` true ends it early (`stopped`)."""
        torch = self._torch
        toks, ids, err, warns = self.prompt(text)
        if err: yield Continuation(error=err, warnings=warns); return
        try:
            n, t, seed = check_request(self.defaults['words'] if words is None else words,
                                       self.defaults['temperature'] if temperature is None else temperature, seed)
        except ModelError as e:
            yield Continuation(error=str(e), warnings=warns); return
        seed = secrets.randbelow(2 ** 31) if seed is None else seed
        gen = torch.Generator().manual_seed(seed)
        logits, state = self._logits(ids, None)
        read = [self.vocab[i] for i in ids.tolist()]       # the beginning as the model read it (xxunk for a new word)
        ctx = read[-3:]          # what the next token's text depends on: a rule (xxmaj, xxrep n c) reaches 3 tokens on
        said = decode(ctx, self.sep)
        drawn, first, stopped = [], None, False
        for _ in range(n):
            if stop is not None and stop(): stopped = True; break
            res = torch.softmax(logits.float(), -1)
            if first is None: first = res.numpy().copy()
            res[self.unk] = 0.
            if t == 0: idx = int(res.argmax())
            else:
                if t != 1.: res.pow_(1 / t)
                idx = int(torch.multinomial(res, 1, generator=gen).item())
            drawn.append(self.vocab[idx])
            ids = torch.cat([ids, ids.new([idx])])
            now = decode(ctx + drawn, self.sep)          # (not the whole beginning again for every token)
            yield Piece(self.vocab[idx], now[len(said):] if now.startswith(said) else ' ' + decode([self.vocab[idx]]))
            said = now
            logits, state = self._logits(ids, state, ids[-1:])
        full, start = decode(read + drawn, self.sep), decode(read, self.sep)
        yield Continuation(text=full, continuation=full[len(start):].strip() if full.startswith(start) else decode(drawn),
                           tokens=drawn, seed=seed, temperature=t, unknown=self.unknown(toks, ids[:len(toks)]),
                           next=self.next_words(first if first is not None else self.probabilities(ids), next_k),
                           stopped=stopped, warnings=warns)

    def continuation(self, text, words=None, temperature=None, seed=None, next_k: int = NEXT_K) -> Continuation:
        "The whole continuation of `text` (`write` to its end)."
        for c in self.write(text, words, temperature, seed, next_k): pass
        return c

    def next_of(self, text, k: int = NEXT_K) -> Continuation:
        "The `k` likeliest next words after `text`, nothing written (a `Continuation` with `next` only)."
        toks, ids, err, warns = self.prompt(text)
        if err: return Continuation(error=err, warnings=warns)
        if not 1 <= k <= len(self.vocab): return Continuation(error=f'next is from 1 to {len(self.vocab):,}, not {k}.')
        return Continuation(text=decode([self.vocab[i] for i in ids.tolist()], self.sep),
                            next=self.next_words(self.probabilities(ids), k),
                            unknown=self.unknown(toks, ids), warnings=warns)

    # ---- rows: a continuation per prompt (records, a CSV, /v2, Dask) ---------------------------------------------
    def predict_records(self, records: list[dict], words=None, temperature=None, seed=None) -> WordsBatch:
        """A continuation per record (its text; its own `words`, `temperature` and `seed` unless the call gives them)."""
        t0 = time.perf_counter()
        own = lambda r, k, v: v if v is not None else _blank(r.get(k)) if isinstance(r, dict) else None
        return WordsBatch([self.continuation(r.get(self.column) if isinstance(r, dict) else None, own(r, 'words', words),
                                             own(r, 'temperature', temperature), own(r, 'seed', seed))
                           for r in records], time.perf_counter() - t0)

    def predict_frame(self, df, words=None, temperature=None, seed=None) -> WordsBatch:
        "A continuation per row of `df` (its text column; its own `words`, `temperature`, `seed` columns, if any)."
        self.require_columns(df.columns)
        cols = [self.column, *(c for c in self.options if c in df.columns)]
        rows = df[cols].astype(object).where(df[cols].notna(), None).to_dict('records')
        return self.predict_records(rows, words, temperature, seed)

    def require_columns(self, columns, what: str = 'the input') -> None:
        if self.column not in columns:
            raise ModelError(f'{what} has no column {self.column!r} (the beginning to write after) that the model reads.')

    def unused_columns(self, columns) -> list[str]:
        return [c for c in columns if c != self.column and c not in self.options]

    def stats(self, text) -> dict:
        "What drift watches of a prompt: its length in tokens and the share of it the model does not know."
        toks, ids, err, _ = self.prompt(text)
        if err: return {}
        n = max(1, len(toks) - 1)
        return dict(tokens=len(toks) - 1, unknown=round(float((ids[1:] == self.unk).sum()) / n, 4))

    def logged_inputs(self, rows: list[dict], res, start: int = 0) -> list[dict]:
        "The prompt, its length in tokens and unknown share (drift), and how many tokens were written."
        return [{self.column: r.get(self.column), **self.stats(r.get(self.column)),
                 'written': len(c.tokens)} for r, c in zip(rows, res.written[start:])]

    def log_entries(self, prompts: list, written: list[Continuation], seconds: float) -> list[dict]:
        "The log's entries of continuations written for `prompts`: the continuation is the answer, its next words beside."
        rows = [{self.column: p} for p in prompts]
        return log_entries(self.logged_inputs(rows, WordsBatch(written, seconds)), list(WordsBatch(written, seconds)),
                           seconds)

    # ---- how well it reads text ---------------------------------------------------------------------------------
    def surprise(self, text) -> tuple[float, int, int]:
        """`(−log p of each token after xxbos, summed; how many; how many were the model's likeliest)` of a text read
        from the start: its perplexity's and next-token accuracy's parts."""
        torch = self._torch
        toks, ids, err, _ = self.prompt(text)
        if err or len(ids) < 2: return math.nan, 0, 0
        with torch.inference_mode():
            if self.steps is not None:
                x = self.steps.emb(ids[None, :-1])
                for rnn in self.steps.rnns: x, _ = rnn(x)
                logits = self.steps.dec(x[0])
            else:
                with self._lock:
                    self.model.reset()
                    logits = self.model(ids[None, :-1])[0][0]
            lp = torch.log_softmax(logits.float(), -1)
            return (float(-lp[torch.arange(len(ids) - 1), ids[1:]].sum()), len(ids) - 1,
                    int((lp.argmax(-1) == ids[1:]).sum()))

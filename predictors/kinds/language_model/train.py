"""Training a language model reproducibly and registering it in the store, with what its card says of it.

`train_lm` reads texts from a CSV, holds `valid_pct` of them out (seeded), tokenizes as fastai does by default (its
rules, then spaCy's rules through `spacy.blank`), trains a small AWD-LSTM language model from scratch
(`language_model_learner(..., pretrained=False)`: no weights can be downloaded here) and writes on the card its
held-out perplexity and next-token accuracy, each held-out message read from its start as the apps read a prompt,
beside a unigram's and a bigram's on the same tokens (`baselines`: counted on the training messages).
"""
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np

from predictors.core.store import ModelError, ModelStore
from predictors.kinds.training import library_versions, seed_everything

__all__ = ['train_lm', 'lm_schema', 'lm_reference', 'held_out', 'baselines', 'SMALL_AWD']

SMALL_AWD = dict(emb_sz=100, n_hid=256, n_layers=2)     # a text classifier's size here: minutes on 2 cores


def lm_schema(learn, column: str = 'text') -> dict:
    "What the card says of a language model's input: its column, vocab size, tokenizer and rules, the longest prompt."
    from predictors.core.results import TEXT_MAX_CHARS
    from predictors.kinds.words import text_parts
    tok, num = text_parts(learn)
    rules = [getattr(r, '__name__', type(r).__name__) for r in (tok.rules or [])]
    return dict(text_column=column, inputs=[dict(name=column, kind='text')], vocab_size=len(num.vocab),
                tokenizer=type(tok.tok).__name__,
                tokenizer_lang=getattr(getattr(tok.tok, 'tok', None), 'lang', None) or getattr(tok.tok, 'lang', None),
                rules=rules, max_chars=TEXT_MAX_CHARS, encoder=type(learn.model[0]).__name__)


def lm_reference(pred, texts: list) -> dict:
    "Reference statistics of the training texts as prompts: length in tokens and unknown share."
    from predictors.core.helpers import number_reference
    stats = [pred.stats(t) for t in texts]
    stats = [s for s in stats if s]
    return dict(columns={c: dict(number_reference([s[c] for s in stats]), kind='continuous') for c in ('tokens', 'unknown')})


def held_out(pred, texts: list) -> dict:
    "Perplexity and next-token accuracy over `texts`, each read from its start (its tokens after xxbos)."
    nll = n = right = 0
    for t in texts:
        a, b, c = pred.surprise(t)
        if b: nll += a; n += b; right += c
    return dict(perplexity=round(math.exp(nll / n), 3) if n else None, accuracy=round(right / n, 5) if n else None,
                tokens=int(n), messages=len(texts))


def baselines(pred, train: list, valid: list) -> dict:
    """A unigram and a bigram counted on the training texts' tokens (the model's ids, unknown words as xxunk), judged as
    the model is: perplexity and accuracy of the next token of each held-out text. Unigram: add-one; bigram: its
    counts interpolated with the unigram's, the weight that suits the held-out tokens best (the baseline's best case)."""
    V = len(pred.vocab)
    seqs = lambda texts: [s for s in (pred.prompt(t)[1] for t in texts) if s is not None and len(s) > 1]
    uni, big = np.ones(V), {}
    for s in seqs(train):
        s = s.tolist()
        np.add.at(uni, s[1:], 1)
        for a, b in zip(s, s[1:]): big.setdefault(a, {}).setdefault(b, 0); big[a][b] += 1
    p_uni = uni / uni.sum()
    pairs = [(a, b) for s in seqs(valid) for a, b in zip(s.tolist(), s.tolist()[1:])]
    if not pairs: return {}
    follow = {a: (sum(d.values()), d, max(d, key=d.get)) for a, d in big.items()}
    def bigram(lam):
        lp = [math.log(lam * (follow[a][1].get(b, 0) / follow[a][0] if a in follow else 0) + (1 - lam) * p_uni[b])
              for a, b in pairs]
        return math.exp(-sum(lp) / len(lp))
    lam = min((0.1 * k for k in range(10)), key=bigram)
    top = int(p_uni.argmax())
    return dict(unigram=dict(perplexity=round(math.exp(-np.mean([math.log(p_uni[b]) for _, b in pairs])), 3),
                             accuracy=round(float(np.mean([b == top for _, b in pairs])), 5)),
                bigram=dict(perplexity=round(bigram(lam), 3), weight=round(lam, 1),
                            accuracy=round(float(np.mean([b == (follow[a][2] if a in follow else top) for a, b in pairs])), 5)))


def train_lm(csv, name: str, text: str = 'text', store: ModelStore | None = None, epochs: int = 20, lr: float = 1e-2,
             bs: int = 32, seq_len: int = 40, drop_mult: float = 0.5, valid_pct: float = 0.2, seed: int = 42,
             about: str | None = None, temperature: float = 0.8, activate: bool = True, log=print) -> str:
    """Train a language model from scratch on the `text` column of `csv` (`valid_pct` of the texts held out at random,
    seeded) and register it as a new version of `name`."""
    from fastai.text.all import AWD_LSTM, Perplexity, TextDataLoaders, accuracy, awd_lstm_lm_config, language_model_learner
    from predictors.core.csvio import read_csv_checked
    from predictors.kinds.language_model.predictor import LMPredictor
    store = store or ModelStore()
    df = read_csv_checked(csv)
    if text not in df.columns: raise ModelError(f'{csv} has no column {text} (columns: {", ".join(df.columns)}).')
    df = df[df[text].notna() & (df[text].astype(str).str.strip() != '')][[text]].reset_index(drop=True)
    df[text] = df[text].astype(str)
    seed_everything(seed)
    df['is_valid'] = np.random.default_rng(seed).random(len(df)) < valid_pct
    dls = TextDataLoaders.from_df(df, text_col=text, is_lm=True, valid_col='is_valid', bs=bs, seq_len=seq_len,
                                  num_workers=0, seed=seed)
    learn = language_model_learner(dls, AWD_LSTM, pretrained=False, config=dict(awd_lstm_lm_config, **SMALL_AWD),
                                   drop_mult=drop_mult, metrics=[accuracy, Perplexity()])
    t0 = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    log(f'{name}: trained in {time.time() - t0:.0f}s on {int((~df.is_valid).sum())} texts')
    pred = LMPredictor(learn, dict(schema=dict(text_column=text)))
    train_texts, valid_texts = df.loc[~df.is_valid, text].tolist(), df.loc[df.is_valid, text].tolist()
    m = held_out(pred, valid_texts)
    base = baselines(pred, train_texts, valid_texts)
    metrics = dict(m, baselines=base, train_messages=len(train_texts), epochs=epochs,
                   note="each held-out text read from its start, as a beginning is; baselines counted on the training texts")
    log(f'{name}: held-out perplexity {m["perplexity"]} (bigram {base["bigram"]["perplexity"]}, unigram '
        f'{base["unigram"]["perplexity"]}), next-token accuracy {m["accuracy"]:.3f} (bigram {base["bigram"]["accuracy"]:.3f}) '
        f'on {m["tokens"]:,} tokens of {m["messages"]:,} texts')
    card = dict(task='language_model', classes=[], target=None, schema=lm_schema(learn, text), metrics=metrics,
                reference=lm_reference(pred, train_texts), writing=dict(words=20, temperature=temperature),
                data_source=dict(csv=str(csv), rows=len(df)), library=library_versions(),
                model=dict(arch='AWD_LSTM', pretrained=False, seq_len=seq_len, bs=bs, drop_mult=drop_mult, **SMALL_AWD))
    if about: card['about'] = about
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)

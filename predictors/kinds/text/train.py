"""Training a text classifier reproducibly and registering it in the store.

`train_text` reads messages and their classes from a CSV, tokenizes them as fastai does by default (its rules, then
spaCy's rules through `spacy.blank`: nothing to download), trains a small AWD-LSTM classifier from scratch
(`text_classifier_learner(..., pretrained=False)`: pretrained weights cannot be downloaded here) and writes the
held-out accuracy, per-class precision and recall and the reference statistics drift compares with on the card.
"""
from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from predictors.core.store import ModelError, ModelStore
from predictors.kinds.training import class_dist, library_versions, parse_templates, seed_everything

__all__ = ['train_text', 'text_schema', 'text_reference']

SMALL_AWD = dict(emb_sz=100, n_hid=256, n_layers=2)     # ~1.3 M weights besides the embedding: minutes on 2 cores


def text_schema(learn, column: str = 'text') -> dict:
    "What the card says of a text learner's input: its column, vocab size, tokenizer and rules, the model's reach."
    from predictors.kinds.words import text_parts
    tok, num = text_parts(learn)
    enc = learn.model[0]
    rules = [getattr(r, '__name__', type(r).__name__) for r in (tok.rules or [])]
    return dict(text_column=column, inputs=[dict(name=column, kind='text')], vocab_size=len(num.vocab), tokenizer=type(tok.tok).__name__,
                tokenizer_lang=getattr(getattr(tok.tok, 'tok', None), 'lang', None) or getattr(tok.tok, 'lang', None),
                rules=rules, bptt=int(getattr(enc, 'bptt', 72)), max_len=getattr(enc, 'max_len', None),
                classes=[str(c) for c in learn.dls.vocab[1]])


def text_reference(pred, texts: list, top: int = 200) -> dict:
    "Reference statistics of the training messages: length in tokens, unknown share (as lists) and token frequencies."
    from predictors.core.helpers import number_reference
    lengths, unknown, counts = [], [], Counter()
    for t in texts:
        toks = pred.tokens(str(t))
        s = pred.stats(toks, pred.ids(toks))
        lengths.append(s['tokens']); unknown.append(s['unknown'])
        counts.update(x for x in toks[1:] if not x.startswith('xx'))
    total = sum(counts.values()) or 1
    return dict(columns=dict(tokens=dict(number_reference(lengths), kind='continuous'),
                             unknown=dict(number_reference(unknown), kind='continuous')),
                top_tokens={w: round(n / total, 6) for w, n in counts.most_common(top)})


def train_text(csv, name: str, text: str = 'text', label: str = 'label', store: ModelStore | None = None,
               epochs: int = 6, lr: float = 1e-2, bs: int = 64, valid_pct: float = 0.2, seed: int = 42,
               describe=None, about: str | None = None, activate: bool = True, log=print) -> str:
    """Train a text classifier from scratch on the `text` and `label` columns of `csv` (`valid_pct` held out at
    random, seeded) and register it as a new version of `name`."""
    import pandas as pd
    from fastai.text.all import AWD_LSTM, TextDataLoaders, accuracy, awd_lstm_clas_config, text_classifier_learner
    from predictors.core.csvio import read_csv_checked
    from predictors.core.helpers import pct, per_class
    from predictors.kinds.text.predictor import TextPredictor
    store = store or ModelStore()
    df = read_csv_checked(csv)
    missing = [c for c in (text, label) if c not in df.columns]
    if missing: raise ModelError(f'{csv} has no column {", ".join(missing)} (columns: {", ".join(df.columns)}).')
    df = df[df[text].notna() & df[label].notna()].reset_index(drop=True)
    df[label] = df[label].astype(str)
    seed_everything(seed)
    dls = TextDataLoaders.from_df(df, text_col=text, label_col=label, valid_pct=valid_pct, seed=seed, bs=bs,
                                  num_workers=0)
    learn = text_classifier_learner(dls, AWD_LSTM, pretrained=False, config=dict(awd_lstm_clas_config, **SMALL_AWD),
                                    drop_mult=0.3, metrics=accuracy)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    classes = [str(c) for c in learn.dls.vocab[1]]
    log(f'{name}: trained in {time.time() - t0:.0f}s on {len(dls.train_ds)} messages')
    pred = TextPredictor(learn, dict(schema=dict(text_column=text)))
    valid = df.iloc[dls.valid_ds.items.index] if isinstance(dls.valid_ds.items, pd.DataFrame) else None
    valid_texts = valid[text].tolist() if valid is not None else [str(x) for x in dls.valid_ds.items]
    truth = np.array(valid[label].astype(str).tolist())
    probs = pred.predict_texts(valid_texts)[0]
    said = np.array(classes)[probs.argmax(1)]
    metrics = dict(accuracy=round(float((said == truth).mean()), 5), valid_rows=len(truth), train_rows=len(dls.train_ds),
                   epochs=epochs, per_class=[dict(cls=c, **per_class(c, truth, said)) for c in classes])
    log(f'{name}: held-out accuracy {metrics["accuracy"]:.4f} on {len(truth)} messages; '
        + ', '.join(f'{p["cls"]} recall {pct(p["recall"])}' for p in metrics['per_class']))
    train_texts = df[text].drop(index=valid.index).tolist() if valid is not None else []
    reference = dict(text_reference(pred, train_texts), valid_pred_dist=class_dist(probs.argmax(1), classes))
    card = dict(task='text', classes=classes, target=label, schema=text_schema(learn, text), metrics=metrics,
                reference=reference, templates=parse_templates(describe, classes),
                data_source=dict(csv=str(csv), rows=len(df)), library=library_versions(),
                model=dict(arch='AWD_LSTM', pretrained=False, **SMALL_AWD))
    if about: card['about'] = about
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)

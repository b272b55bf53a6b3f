"""The Gradio peer of #29: a fastai learner in a plain Gradio app, written as the fastai course writes one
(`load_learner`, `learn.predict`, `gr.Interface`, the default queue). Runs in .venv-gradio, never in .venv.

    .venv-gradio/bin/python benchmarks/peer/gradio_app.py MODEL.pkl PORT
"""
import sys

import gradio as gr
import pandas as pd
from fastai.tabular.all import load_learner

learn = load_learner(sys.argv[1])
cats, conts = list(learn.dls.cat_names), list(learn.dls.cont_names)
classes = list(learn.dls.vocab)
choices = {c: [str(v) for v in learn.dls.classes[c] if str(v) != '#na#'] for c in cats}


def predict(*values):
    row = pd.Series(dict(zip(cats + conts, values)))
    _, _, probs = learn.predict(row)
    return {str(c): float(p) for c, p in zip(classes, probs)}


inputs = [gr.Dropdown(choices[c], label=c, value=choices[c][0]) for c in cats] + [gr.Number(label=c) for c in conts]
gr.Interface(fn=predict, inputs=inputs, outputs=gr.Label(), title='Income').launch(
    server_name='127.0.0.1', server_port=int(sys.argv[2]), share=False)

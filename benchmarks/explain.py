"""What an explanation costs, on one thread, beside the prediction it explains.

Tabular (the adult model, 14 fields): milliseconds per explained row (Shapley values of every field
against 64 training rows), against `learn.predict` and our predictor on the same row, and against
`shap.KernelExplainer` on our predictor with the same background when shap is installed (it is not a
requirement). Images: milliseconds per Grad-CAM heatmap (one image at a time, and batched) against
the prediction alone and `learn.predict`, for the demo model (64 px) and for a resnet50 at 224 px
built here without pretrained weights (the cost of a heatmap depends on the architecture, not on
the weights). Targets (#14): ≤ 200 ms per tabular row, ≤ 150 ms per image.

    .venv/bin/python benchmarks/explain.py [--rows 20] [--threads 1]
"""
import argparse
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')


def per_item(fn, items, repeat=2) -> float:
    "Best of `repeat` runs of `fn(item)` over `items`, in milliseconds per item."
    best = float('inf')
    for _ in range(repeat):
        t = time.perf_counter()
        for x in items: fn(x)
        best = min(best, time.perf_counter() - t)
    return best / len(items) * 1000


def tabular(n_rows: int):
    import pandas as pd
    from predictors import ModelStore, load_predictor
    from predictors.kinds import kind
    pred = load_predictor('adult_income', ModelStore(ROOT / 'models'))
    ex = kind('tabular').explainer(pred)
    df = pd.read_csv(ROOT / 'data' / 'adult_sample' / 'adult.csv').sample(n_rows, random_state=0)
    rows = [r for r in df.drop(columns='salary').to_dict('records')]
    learn = pred.learn
    with learn.no_bar():
        t_learn = per_item(lambda r: learn.predict(pd.Series(r)), rows[:10])
    t_pred = per_item(lambda r: pred.predict_one(r), rows)
    t_explain = per_item(lambda r: ex.explain([r]), rows)
    n_model_rows = (len(ex._bg[0]) * (ex.permutations * (len(ex.fields) - 1) + 2))
    print(f'tabular: adult_income, {len(ex.fields)} fields, background {ex.background}, {ex.method}, '
          f'~{n_model_rows:,} model rows per explanation')
    print(f'  learn.predict, one row           {t_learn:8.2f} ms')
    print(f'  our predictor, one row           {t_pred:8.2f} ms')
    print(f'  explanation, one row             {t_explain:8.2f} ms   (target ≤ 200 ms)')
    print(f'  an explanation costs {t_explain / t_learn:.1f}x one learn.predict and {t_explain / t_pred:.0f}x our '
          f'prediction; it scores {n_model_rows / (t_explain / 1000):,.0f} model rows/s')
    try:
        import numpy as np
        import shap
    except ImportError:
        print('  shap.KernelExplainer: shap is not installed (pip install shap to compare)')
        return
    bg = pd.DataFrame(pred.card['reference']['background'][:64])[ex.fields]
    k = lambda X: pred.predict_frame(pd.DataFrame(X, columns=ex.fields)).probs
    kx = shap.KernelExplainer(k, bg.to_numpy(object))
    t_shap = per_item(lambda r: kx.shap_values(np.array([[r[f] for f in ex.fields]], dtype=object), silent=True,
                                                nsamples=2 * len(ex.fields) + 2048), rows[:3], repeat=1)
    print(f'  shap.KernelExplainer, one row    {t_shap:8.2f} ms   ({t_shap / t_explain:.1f}x ours)')


def images():
    import torch
    from PIL import Image
    from predictors import ModelStore, load_predictor
    from predictors.core.imaging import decode_image
    from predictors.kinds import kind
    paths = sorted(p for p in (ROOT / 'test_images').iterdir() if p.suffix in ('.png', '.jpg'))
    ims = [decode_image(p.read_bytes()) for p in (paths * 16)[:16]]
    models = [('fruits (xresnet18 ×0.5, 64 px)', load_predictor('fruits', ModelStore(ROOT / 'models')))]
    with tempfile.TemporaryDirectory() as d:
        from fastai.vision.all import ImageDataLoaders, Resize, resnet50, vision_learner
        for label in ('a', 'b'):
            (Path(d) / label).mkdir()
            for i in range(4): Image.new('RGB', (256, 256), (i * 60, 90, 200 if label == 'a' else 20)).save(Path(d) / label / f'{i}.png')
        dls = ImageDataLoaders.from_folder(d, valid_pct=0.25, seed=0, item_tfms=Resize(224), bs=4, num_workers=0)
        learn = vision_learner(dls, resnet50, pretrained=False)
        models.append(('resnet50 (224 px, untrained weights)', kind('image').predictor(learn, {})))
        for label, pred in models:
            cam = kind('image').explainer(pred)
            learn = pred.learn
            from fastai.vision.core import PILImage
            with learn.no_bar():
                t_learn = per_item(lambda im: learn.predict(PILImage(im)), ims[:4])
            t_pred = per_item(lambda im: pred.predict_images([im]), ims[:8])
            t_one = per_item(lambda im: cam.explain_images([im]), ims[:8])
            t_batch = per_item(lambda batch: cam.explain_images(batch), [ims], repeat=2) / len(ims)
            t_pred_batch = per_item(lambda batch: pred.predict_images(batch), [ims], repeat=2) / len(ims)
            print(f'images: {label}, layer {type(cam.layer).__name__}, torch threads {torch.get_num_threads()}')
            print(f'  learn.predict, one image         {t_learn:8.2f} ms')
            print(f'  our prediction, one image        {t_pred:8.2f} ms   batched: {t_pred_batch:6.2f} ms/image')
            print(f'  prediction + heatmap, one image  {t_one:8.2f} ms   batched: {t_batch:6.2f} ms/image   (target ≤ 150 ms)')
            print(f'  a heatmap adds {t_one / t_pred - 1:+.0%} to a prediction alone ({t_batch / t_pred_batch - 1:+.0%} '
                  f'batched) and costs {t_one / t_learn:.2f}x one learn.predict')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=20)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    tabular(args.rows)
    images()


if __name__ == '__main__':
    main()

"""Image prediction cost per image for 32 images: learn.predict one at a time, our batched predictor,
and the bare model forward on the already transformed batch.

    .venv/bin/python benchmarks/image_predict.py [--threads N]
"""
import argparse
import warnings
from pathlib import Path

from harness.timing import best

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')



def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--model', default='fruits'); args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from fastai.vision.core import PILImage
    from predictors import ModelStore, load_predictor
    from predictors.core.imaging import decode_image
    pred = load_predictor(args.model, ModelStore(ROOT / 'models'))
    learn = pred.learn
    paths = sorted(p for p in (ROOT / 'test_images').iterdir() if p.suffix in ('.png', '.jpg'))
    files = [(p.name, p.read_bytes()) for p in (paths * 32)[:32]]
    imgs = [PILImage(decode_image(d)) for _, d in files]
    xb = learn.dls.test_dl(imgs, bs=32).one_batch()[0]
    model = learn.model.eval()

    def one_by_one():
        with learn.no_bar():
            for im in imgs: learn.predict(im)

    def bare():
        with torch.inference_mode(): model(xb)

    t = dict(learn_predict=best(one_by_one, 2), ours=best(lambda: pred.predict_files(files)), bare=best(bare))
    n = len(files)
    print(f'image model {args.model}, {n} images, torch threads: {torch.get_num_threads()}')
    print(f'  learn.predict one at a time   {t["learn_predict"] / n * 1000:8.2f} ms/image')
    print(f'  our predictor (decode+batch)  {t["ours"] / n * 1000:8.2f} ms/image')
    print(f'  bare model forward (batch)    {t["bare"] / n * 1000:8.2f} ms/image')
    print(f'  our predictor is {t["learn_predict"] / t["ours"]:.1f}x faster per image than learn.predict, '
          f'{t["ours"] / t["bare"]:.1f}x the bare forward pass')


if __name__ == '__main__':
    main()

"""Text prediction cost: one message and a batch of 256, `learn.predict` one at a time against our predictor (the
learner's tokenizer, the messages sorted by length and padded as fastai does, one forward pass per batch), and the
bare model on messages already tokenized: the most any predictor could gain.

    .venv/bin/python benchmarks/text_predict.py [--model sms_spam] [--threads N]
"""
import argparse
import warnings

from image_predict import ROOT, best_of     # the same timing as the image benchmark (benchmarks/ is on the path)

warnings.filterwarnings('ignore')


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--model', default='sms_spam'); args = ap.parse_args()
    import pandas as pd
    import torch
    torch.set_num_threads(args.threads)
    from predictors import ModelStore, load_predictor
    pred = load_predictor(args.model, ModelStore(ROOT / 'models'))
    learn = pred.learn
    texts = pd.read_csv(ROOT / 'data/sms_spam/sms.csv')['text'].sample(256, random_state=0).tolist()
    one = texts[0]

    def predict_each(items):
        with learn.no_bar():
            for t in items: learn.predict(t)

    ids = [pred.ids(pred.tokens(x)) for x in texts]          # the bare model: tokens already made
    t = dict(single_bare=best_of(lambda: pred.probs_of_ids(ids[:1]), 5), batch_bare=best_of(lambda: pred.probs_of_ids(ids), 2),
             single_learn=best_of(lambda: predict_each([one]), 5), single_ours=best_of(lambda: pred.predict_records([{'text': one}]), 5),
             batch_learn=best_of(lambda: predict_each(texts), 1), batch_ours=best_of(lambda: pred.predict_records([{'text': x} for x in texts]), 2))
    print(f'text model {args.model}, torch threads: {torch.get_num_threads()}')
    print(f'  one message:  learn.predict {t["single_learn"] * 1000:8.2f} ms   ours {t["single_ours"] * 1000:8.2f} ms   '
          f'{t["single_learn"] / t["single_ours"]:.1f}x faster')
    print(f'  256 messages: learn.predict {t["batch_learn"] * 1000:8.0f} ms   ours {t["batch_ours"] * 1000:8.0f} ms   '
          f'{t["batch_learn"] / t["batch_ours"]:.1f}x faster ({t["batch_ours"] / 256 * 1000:.2f} ms a message)')
    print(f'  the bare model forward (tokens made): one {t["single_bare"] * 1000:.2f} ms, 256 {t["batch_bare"] * 1000:.0f} ms; '
          f'at best {t["single_learn"] / t["single_bare"]:.1f}x and {t["batch_learn"] / t["batch_bare"]:.1f}x learn.predict')


if __name__ == '__main__':
    main()

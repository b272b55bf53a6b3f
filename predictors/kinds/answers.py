"""The shape of an answer (a kind's `answer`) and how it is encoded: `classes` (a class and the probability of each),
`number` (a number in the target's units and the range held-out answers of that size fell in) and `labels` (every
label at or above its threshold, or none) and `continuation` (the words written after a beginning, and the words likeliest
to come right after it). A recommender's ranked lists are its `recommend` verb's.

The answer itself is the same object everywhere (`predictors.core.results`: `Prediction` for rows, `ImageResult` for
files; `/v1` is their `to_dict`, and the API's pydantic models are derived from them). A shape says what else a
transport needs: the Open Inference Protocol's output tensors (`outputs`, and `encode` of the answers into them)
and the columns a scored CSV adds (`columns`). Plain Python: the thin app kernel imports this module.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ['AnswerShape', 'Classes', 'Number', 'Labels', 'Continuation', 'CLASSES', 'NUMBER', 'LABELS', 'CONTINUATION']

_ID = dict(name='id', datatype='INT64', shape=[-1])          # the answer's log id (-1: none)
_ERROR = dict(name='error', datatype='BYTES', shape=[-1])    # why a row has no answer ('' when answered)


@dataclass(frozen=True)
class AnswerShape:
    "What an answer of a kind holds, and how it is encoded for the Open Inference Protocol and a scored CSV."
    name: str = ''

    def outputs(self, card: dict) -> list[dict]:
        "The output tensors (name, datatype, shape; -1: any number of rows): the answer's, then `id` and `error`."
        return [*self._answer_outputs(card), _ID, _ERROR]

    def _answer_outputs(self, card: dict) -> list[dict]:
        raise NotImplementedError

    def data(self, results: list, card: dict) -> dict:
        "{output name: its values, flat and row-major} of the answers `results` (`id` and `error` aside)."
        raise NotImplementedError

    def parameters(self, card: dict) -> dict:
        "{output name: its tensor's parameters} (the class names of a `[n, k]` tensor)."
        return {}

    def encode(self, results: list, card: dict) -> list[dict]:
        "The answers `results` as the model's output tensors, in the order `outputs` declares them."
        data = dict(self.data(results, card), id=[-1 if r.id is None else int(r.id) for r in results],
                    error=[r.error or '' for r in results])
        params, out = self.parameters(card), []
        for o in self.outputs(card):
            t = dict(name=o['name'], datatype=o['datatype'], shape=[len(results), *o['shape'][1:]], data=data[o['name']])
            if o['name'] in params: t['parameters'] = params[o['name']]
            out.append(t)
        return out

    def columns(self, card: dict) -> list[str]:
        "The columns a scored file adds after the input's own (`problem` last)."
        raise NotImplementedError


def _classes(card: dict) -> list:
    return list(card.get('classes') or [])


@dataclass(frozen=True)
class Classes(AnswerShape):
    """`predicted` (the class, `BYTES`) and `probabilities` (`FP32` `[n, k]`, the classes in its `parameters.classes`,
    a JSON list); a scored CSV: `prediction` and `probability_<class>`."""
    name: str = 'classes'

    def _answer_outputs(self, card):
        k = len(_classes(card))
        return [dict(name='predicted', datatype='BYTES', shape=[-1]),
                *([dict(name='probabilities', datatype='FP32', shape=[-1, k])] if k else [])]

    def data(self, results, card):
        return dict(predicted=['' if r.error or r.prediction is None else str(r.prediction) for r in results],
                    probabilities=[float(0 if r.error else r.probabilities.get(c, 0.0)) for r in results
                                   for c in _classes(card)])

    def parameters(self, card):
        return dict(probabilities={'classes': json.dumps(_classes(card))})

    def columns(self, card):
        return ['prediction'] + [f'probability_{c}' for c in _classes(card)] + ['problem']


@dataclass(frozen=True)
class Number(AnswerShape):
    """`predicted` (`FP64`, in the target's units) and `range` (`FP64` `[n, 2]`: where the card's share of held-out
    answers of that size fell); a scored CSV: `prediction`, `low`, `high`."""
    name: str = 'number'

    def _answer_outputs(self, card):
        return [dict(name='predicted', datatype='FP64', shape=[-1]), dict(name='range', datatype='FP64', shape=[-1, 2])]

    def data(self, results, card):
        return dict(predicted=[None if r.error else r.prediction for r in results],
                    range=[x for r in results for x in (r.range or [None, None])])

    def columns(self, card):
        return ['prediction', 'low', 'high', 'problem']


@dataclass(frozen=True)
class Labels(Classes):
    """Besides each label's own probability (`probabilities`, a sigmoid each: they need not add up to 1), the answer
    as a multi-hot `labels` (`BOOL` `[n, k]`: the label is at or above its threshold, the thresholds in its
    `parameters`); `predicted` is the labels' text, as `/v1` gives it; a scored CSV: `labels` and `probability_<label>`."""
    name: str = 'labels'

    def _answer_outputs(self, card):
        return [*super()._answer_outputs(card), dict(name='labels', datatype='BOOL', shape=[-1, len(_classes(card))])]

    def data(self, results, card):
        return dict(super().data(results, card),
                    labels=[not r.error and c in (r.labels or ()) for r in results for c in _classes(card)])

    def parameters(self, card):
        labels = {'classes': json.dumps(_classes(card))}
        if card.get('thresholds'): labels['thresholds'] = json.dumps([card['thresholds'].get(c) for c in _classes(card)])
        return dict(super().parameters(card), labels=labels)

    def columns(self, card):
        return ['labels'] + [f'probability_{c}' for c in _classes(card)] + ['problem']


@dataclass(frozen=True)
class Continuation(AnswerShape):
    """`predicted` (`BYTES`: the continuation), `next_words` (`BYTES` `[n, 5]`: the likeliest words right after the
    beginning) and `next_probabilities` (`FP32` `[n, 5]`: theirs); a scored CSV: `continuation`, `seed` (the same seed
    writes the same words), `next_words` and `problem`."""
    name: str = 'continuation'
    k: int = 5

    def _answer_outputs(self, card):
        return [dict(name='predicted', datatype='BYTES', shape=[-1]), dict(name='next_words', datatype='BYTES', shape=[-1, self.k]),
                dict(name='next_probabilities', datatype='FP32', shape=[-1, self.k])]

    def data(self, results, card):
        top = lambda r: list((r.probabilities or {}).items())[:self.k] if not r.error else []
        pad = lambda xs, empty: [*xs, *[empty] * (self.k - len(xs))]
        return dict(predicted=['' if r.error else str(r.prediction) for r in results],
                    next_words=[w for r in results for w in pad([w for w, _ in top(r)], '')],
                    next_probabilities=[p for r in results for p in pad([float(p) for _, p in top(r)], 0.0)])

    def columns(self, card):
        return ['continuation', 'seed', 'next_words', 'problem']


CLASSES, NUMBER, LABELS, CONTINUATION = Classes(), Number(), Labels(), Continuation()

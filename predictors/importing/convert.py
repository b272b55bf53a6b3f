"""Rebuilding a fastai 2.8 learner from a fastai 2.0–2.7 export, or one of the fastai2 pre-release (read by
`predictors.importing.legacy`): the kinds are asked in order of priority (`ModelKind.rebuild`), each rebuilding the
exports of its own kind from the export's parts (`predictors.kinds.legacy.OldParts`). The model is the exported module
itself, weights untouched. What predicting does not need — callbacks, recorders, progress bars and their display
handles, metrics, loggers, training-only transforms, anything this Python cannot find — is left out and listed on the
card (`converted_from.left_out`). What cannot be rebuilt (a transform, proc or loss from the exporter's own code, a
tabular multi-label target) is refused with a message naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from predictors.core.store import ModelError
from predictors.importing.legacy import read_old_export
from predictors.kinds import KINDS
from predictors.kinds.legacy import OldObject, OldParts, items, old_name, plain, refuse, state
from predictors.core.store import load_learner_file
from predictors.importing.legacy import identify, is_old_export

__all__ = ['Conversion', 'convert_old_export', 'read_learner']


@dataclass
class Conversion:
    "A fastai 2.8 learner rebuilt from an old export, with what the card says about it."
    learn: object
    fastai: str
    dropped: list = field(default_factory=list)
    how: str = ('read without fastai < 2.8 and rebuilt as a fastai 2.8 learner (predictors.importing.convert): '
                'same procs or transforms, same model and weights')

    def card_fields(self, path) -> dict:
        return dict(converted_from=dict(fastai=self.fastai, file=Path(path).name, how=self.how, left_out=self.dropped))


def _version(old) -> str:
    "fastai 2.7 wrote `pin_memory_device` into its data loaders; earlier 2.x did not."
    for dl in items(state(state(old).get('dls')).get('loaders')):
        if 'pin_memory_device' in state(state(dl).get('fake_l')): return '2.7'
    return '2.0–2.6'


def _callbacks(old, listed=frozenset()) -> list[str]:
    """The callbacks that are not fastai's own (nor `listed` already), as left out: callbacks act in `fit` and
    `get_preds`, and the apps call the model itself, so none of them changes an answer here."""
    names = [old_name(cb) for cb in items(state(old).get('cbs'))]
    return [f'{n} (a callback: the apps call the model directly)' for n in names
            if not n.startswith('fastai.') and n not in listed]


def _model(old):
    import torch
    model = state(old).get('model')
    if not isinstance(model, torch.nn.Module):
        raise refuse('model is', old_name(model), 'Give the file that defines the model class: `python -m predictors '
                      'import FILE --name NAME --code FILE.py` (repeat --code for more files).')
    for m in model.modules():            # fastcore's `L` kept by a module (an AWD-LSTM's `layer_names`): a list
        for k, v in list(vars(m).items()):
            if isinstance(v, OldObject): m.__dict__[k] = plain(v)
    return model.eval()


def read_learner(path, code=()) -> tuple:
    """`(learner, Conversion or None)` of an exported file: a fastai 2.8 export loaded as it is, one of
    fastai 2.0–2.7 rebuilt (`convert_old_export`); `code`: .py files whose names stand in for the exporter's
    `__main__`. `ModelError` says why a file cannot be used."""
    why = identify(path)
    if why: raise ModelError(why)
    try:
        if not is_old_export(path):
            try:
                return load_learner_file(path, code), None
            except ModelError as e:
                return _rebuilt_28(path, code, e)
        conv = convert_old_export(path, code)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a file holds, the person gets a reason, never a traceback
        raise ModelError(f'the file cannot be read as a fastai learner ({type(e).__name__}: {e}).') from None
    return conv.learn, conv


def _rebuilt_28(path, code, refused: ModelError) -> tuple:
    """A fastai 2.8 export that `load_learner` refused (it names something this Python cannot find: a logger's
    callback, a metric of a package not installed), rebuilt as an old export is when what is missing is not
    needed to predict; else the first refusal, which names what is missing."""
    try:
        conv = convert_old_export(path, code)
    except Exception:  # noqa: BLE001 - the first reason is the one that helps
        raise refused from None
    conv.fastai, conv.how = '2.8', ('read with stand-ins for what this Python cannot find, and rebuilt as a '
                                    'fastai 2.8 learner (predictors.importing.convert): same procs or transforms, '
                                    'same model and weights')
    return conv.learn, conv


def convert_old_export(path, code=()) -> Conversion:
    "Read a fastai 2.0–2.7 export and rebuild it as a fastai 2.8 learner; `ModelError` says what stops it."
    old, missing = read_old_export(path, code)
    if not isinstance(old, OldObject) or 'dls' not in state(old) or 'model' not in state(old):
        raise ModelError('the file is not a fastai learner export (no data loaders and model in it).')
    dropped: list = [f'{n} (not found here, not needed to predict)' for n in missing] + _callbacks(old, set(missing))
    loaders = items(state(state(old)['dls']).get('loaders'))
    if not loaders: raise ModelError('the export has no data loaders to take its processing from.')
    dl = loaders[-1]
    parts = OldParts(old, dl, state(dl).get('dataset'), _model(old), dropped)
    for k in sorted(KINDS.values(), key=lambda k: -k.priority):
        learn = k.rebuild(parts)
        if learn is not None: return Conversion(learn, _version(old), dropped)
    raise ModelError(f'the export\'s data ({old_name(parts.ds)}) is of none of the kinds the apps serve.')



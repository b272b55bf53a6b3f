"""What training any kind shares: seeding, the library versions for the card, class sentences, the
distribution of predicted classes."""
from __future__ import annotations

import random

import numpy as np

from predictors.core.store import ModelError

__all__ = ['library_versions', 'seed_everything', 'parse_templates', 'class_dist']


def library_versions() -> dict:
    import platform
    import fastai
    import torch
    return dict(python=platform.python_version(), fastai=fastai.__version__, torch=torch.__version__)


def seed_everything(seed: int):
    import torch
    random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)
    torch.use_deterministic_algorithms(False)


def parse_templates(templates, classes) -> dict:
    "Sentences per class from a dict or from 'CLASS=TEXT' strings (the class may itself hold '=')."
    if not templates: return {}
    if isinstance(templates, dict): items = templates.items()
    else:
        items = []
        for t in templates:
            c = max((c for c in classes if t.startswith(c + '=')), key=len, default=None)
            if c is None: raise ModelError(f'--describe {t!r} names no class (classes: {", ".join(classes)}).')
            items.append((c, t[len(c) + 1:]))
    out = dict(items)
    for c in out:
        if c not in classes: raise ModelError(f'a sentence for {c!r}, which is not a class ({", ".join(classes)}).')
    return out


def class_dist(idx, classes) -> dict:
    counts = np.bincount(np.asarray(idx, dtype=int), minlength=len(classes))
    return {c: round(float(n) / max(1, counts.sum()), 6) for c, n in zip(classes, counts)}

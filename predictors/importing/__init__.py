"""Bringing a learner exported elsewhere: `importer` registers it; `convert` and `legacy` rebuild exports
of fastai 2.0–2.7 as fastai 2.8 learners."""

"""Which data a case's default model learns from: real images whenever they are here.

A phantom-trained model answering a real upload teaches the wrong lesson, so the
first-visit model, ``prepare`` and the Predict section's default train on the first of
the case's real, labelled sources (in the case's own order) that this machine has: the
mirror, an imported folder, or a download the user made. Phantoms only when none is.
"""

from __future__ import annotations

from medlearn.data.sources.base import get_source
from medlearn.errors import MedlearnError

PHANTOMS = "phantoms"
REAL_KINDS = ("download", "folder")
"""Source kinds that hold real, labelled images (package samples are unlabelled examples)."""


def trainable(source, case) -> bool:
    """Whether ``source`` is here and gives labelled items this case's task can learn from
    (class labels, or masks for segmentation); reads two items."""
    if source.kind not in REAL_KINDS or case.key not in source.cases or not source.is_available():
        return False
    try:
        items = source.load(case.key, split="all", limit=2)
    except MedlearnError:
        return False
    wanted = (lambda it: it.mask is not None) if case.task.is_segmentation else (lambda it: it.label is not None)
    return len(items) >= 2 and all(wanted(it) for it in items)


def default_source(case) -> str:
    """The name of the source a case's default model trains on (see module doc)."""
    for name in case.sources:
        if name != PHANTOMS and trainable(get_source(name), case):
            return name
    return PHANTOMS


def describe_source(name: str) -> str:
    """``"synthetic phantoms"`` or ``"real images (BUSI breast ultrasound)"``, for messages."""
    if name == PHANTOMS:
        return "synthetic phantoms"
    return f"real images ({get_source(name).title})"

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


def image_dims(name: str, case) -> int | None:
    """Spatial dimensions (2 or 3) of a source's images for ``case`` (its first item), or
    None when unknown (phantoms follow the case; a source that cannot load says nothing)."""
    if name == PHANTOMS:
        return case.task.spatial_dims
    try:
        items = get_source(name).load(case.key, split="all", limit=1)
    except MedlearnError:
        return None
    return items[0].image.spatial_dims if items else None


def describe_source(name: str) -> str:
    """``"synthetic phantoms"`` or ``"real images (BUSI breast ultrasound)"``, for messages."""
    if name == PHANTOMS:
        return "synthetic phantoms"
    return f"real images ({get_source(name).title})"


def download_offers(case) -> list:
    """The case's open datasets that can be downloaded (a :meth:`~DatasetSource.remote_file`)
    and are not on this machine yet, in the case's order: what the page offers to fetch."""
    offers = []
    for name in case.sources:
        source = get_source(name)
        try:
            if source.remote_file() is not None and not source.is_available():
                offers.append(source)
        except MedlearnError:  # its address table cannot be read (package missing): nothing to offer
            continue
    return offers

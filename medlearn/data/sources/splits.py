"""Deterministic train/val/test splits for datasets that publish none.

Rule (documented for students and reproducible across machines): a sample's *group*
(the patient when known, else the sample id) is hashed with MD5; the first 8 hex
digits, as a fraction of 16**8, place the whole group in ``train`` (< 0.70), ``val``
(< 0.85) or ``test``. Splitting by patient keeps images of one person on one side,
so a model is never tested on a patient it trained on. The split does not depend on
file order, on which other files exist, or on the random seed of a run.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


def split_of(group: str) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for a group key (patient or sample id)."""
    u = int(hashlib.md5(group.encode("utf-8")).hexdigest()[:8], 16) / 16**8
    if u < FRACTIONS["train"]:
        return "train"
    return "val" if u < FRACTIONS["train"] + FRACTIONS["val"] else "test"


def select(items: Iterable[T], split: str, group: Callable[[T], str], limit: int | None = None,
           key: Callable[[T], str] | None = None) -> list[T]:
    """The items of ``split`` (``"all"`` keeps every item), at most ``limit``.

    Items keep their order unless ``key`` is given: then they are put in a fixed
    pseudo-random order (MD5 of ``key(item)``), so a ``limit`` takes a mix of classes
    rather than the first folder.
    """
    chosen = [it for it in items if split == "all" or split_of(group(it)) == split]
    if key is not None:
        chosen.sort(key=lambda it: hashlib.md5(("order:" + key(it)).encode("utf-8")).hexdigest())
    return chosen if limit is None else chosen[:limit]

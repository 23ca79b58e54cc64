"""The training events, in the order the trainer fires them (fastai's names).

``before_fit`` once; per epoch ``before_epoch``, then for each training batch
``before_batch`` / ``after_batch``; then the validation pass fires ``before_validate``,
its own ``before_batch`` / ``after_batch`` (with ``trainer.training`` False) and
``after_validate``; then ``after_epoch``; finally ``after_fit`` (also after a stop or an
error, with ``trainer.status`` saying which).
"""

from __future__ import annotations

from medlearn.errors import UnknownNameError

EVENTS: tuple[str, ...] = (
    "before_fit",
    "before_epoch",
    "before_batch",
    "after_batch",
    "before_validate",
    "after_validate",
    "after_epoch",
    "after_fit",
)


class Callback:
    """Base class of training callbacks: define methods named after the events you need
    (each receives the trainer); a lower ``order`` runs first at every event."""

    order: int = 50


def check_event(name: str) -> str:
    """``name`` if it is a training event, else :class:`UnknownNameError` listing them."""
    if name not in EVENTS:
        raise UnknownNameError(f"Unknown training event {name!r}; events: {', '.join(EVENTS)}.")
    return name

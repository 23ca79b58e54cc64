"""Overfitting, read from a run's curves: where validation was best, where early stopping
would have stopped, and how far training and validation loss ended apart.

A network that memorises its training images keeps lowering its training loss while its
validation loss turns back up: the epoch of the lowest validation loss is the model one
would keep, and a patience-based early stop (:class:`medlearn.train.callbacks.EarlyStopping`,
replayed here on the recorded epochs, so the rule is the trainer's own) ends the run a few
epochs after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from medlearn.metrics import is_better
from medlearn.train.callbacks import EarlyStopping

DEFAULT_PATIENCE = 3


def _value(row: dict, key: str) -> float | None:
    value = row.get(key)
    if not isinstance(value, (int, float)) or math.isnan(float(value)):
        return None
    return float(value)


def best_epoch(epochs: list[dict], monitor: str = "val_loss") -> int | None:
    """The epoch (1-based, as recorded) with the best ``monitor`` value (the first of ties), or None."""
    best, best_value = None, None
    for row in epochs:
        value = _value(row, monitor)
        if value is not None and is_better(monitor, value, best_value):
            best, best_value = int(row["epoch"]), value
    return best


class _Replay:
    """The little of a trainer that :class:`EarlyStopping` reads: ``history`` and ``request_stop``."""

    def __init__(self):
        self.history: list[dict] = []
        self.stopped = False

    def request_stop(self, reason: str = "user") -> None:
        self.stopped = True


def early_stop_epoch(epochs: list[dict], monitor: str = "val_loss", patience: int = DEFAULT_PATIENCE,
                     min_delta: float = 0.0) -> int | None:
    """The epoch after which ``EarlyStopping(monitor, patience, min_delta)`` would have stopped
    this run, or None if it would have trained every recorded epoch."""
    stopper, trainer = EarlyStopping(monitor, patience, min_delta), _Replay()
    for row in epochs:
        trainer.history.append(row)
        stopper.after_epoch(trainer)
        if trainer.stopped:
            return int(row["epoch"])
    return None


@dataclass(frozen=True)
class FitSummary:
    """One run's overfitting figures.

    Attributes:
        epochs: epochs recorded.
        best_epoch: epoch of the lowest validation loss (None without validation).
        stop_epoch: where a patience-based early stop would have ended the run (None: never).
        patience: the patience of that rule.
        train_loss, val_loss: the last epoch's losses.
        gap: ``val_loss - train_loss`` at the last epoch (large: memorised, not learnt).
    """

    epochs: int
    best_epoch: int | None
    stop_epoch: int | None
    patience: int
    train_loss: float | None
    val_loss: float | None

    @property
    def gap(self) -> float | None:
        if self.train_loss is None or self.val_loss is None:
            return None
        return self.val_loss - self.train_loss


def summarise(epochs: list[dict], patience: int = DEFAULT_PATIENCE) -> FitSummary:
    """:class:`FitSummary` of a run's per-epoch rows (``epoch``, ``train_loss``, ``val_loss``)."""
    last = epochs[-1] if epochs else {}
    return FitSummary(len(epochs), best_epoch(epochs), early_stop_epoch(epochs, patience=patience), patience,
                      _value(last, "train_loss"), _value(last, "val_loss"))

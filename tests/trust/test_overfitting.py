"""Overfitting figures of a run's curves: best validation epoch, the early stop, the gap."""

from __future__ import annotations

import math

import pytest

from medlearn.trust.overfitting import best_epoch, early_stop_epoch, summarise


def _epochs(val: list[float], train: list[float] | None = None) -> list[dict]:
    train = train or [1.0 / (i + 1) for i in range(len(val))]
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val))]


def test_best_epoch_is_the_lowest_validation_loss_first_of_ties():
    rows = _epochs([0.9, 0.6, 0.5, 0.5, 0.7, 0.8])
    assert best_epoch(rows) == 3
    assert best_epoch(rows, "train_loss") == 6
    assert best_epoch([{"epoch": 1, "accuracy": 0.4}, {"epoch": 2, "accuracy": 0.7}], "accuracy") == 2
    assert best_epoch([{"epoch": 1, "train_loss": 1.0}]) is None  # no validation: no best epoch


@pytest.mark.parametrize("patience, stop", [(1, 4), (2, 5), (3, 6), (4, 7), (5, None)])
def test_the_early_stop_follows_the_trainers_rule(patience, stop):
    rows = _epochs([0.9, 0.6, 0.5, 0.55, 0.7, 0.8, 0.9])  # best at 3, then worse for 4 epochs
    assert early_stop_epoch(rows, patience=patience) == stop


def test_a_nan_epoch_neither_improves_nor_counts():
    rows = _epochs([0.9, math.nan, 0.8, 0.85])
    assert best_epoch(rows) == 3 and early_stop_epoch(rows, patience=1) == 4


def test_summary_reports_the_final_gap():
    fit = summarise(_epochs([0.9, 0.6, 0.7, 1.1], [1.0, 0.5, 0.2, 0.05]), patience=2)
    assert (fit.epochs, fit.best_epoch, fit.stop_epoch, fit.patience) == (4, 2, 4, 2)
    assert fit.gap == pytest.approx(1.05)
    empty = summarise([])
    assert empty.epochs == 0 and empty.best_epoch is None and empty.gap is None

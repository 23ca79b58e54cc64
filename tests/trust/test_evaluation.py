"""``medlearn.trust.evaluation``: curves, rates at a threshold, Bayes' PPV, calibration before
and after temperature, confusion cells and worst lists on small synthetic arrays,
and the held-out answers of a tiny trained model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medlearn.errors import MedlearnInputError
from medlearn.metrics import calibrate, calibration_error
from medlearn.trust import evaluation as ev

TRUTH = np.array([0, 0, 0, 0, 1, 1, 1, 0, 1, 1], bool)
SCORE = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9, 0.95, 0.55])


def test_curves_sweep_every_threshold():
    c = ev.curves(TRUTH, SCORE)
    assert c.auc == pytest.approx(19 / 25)  # 19 of the 25 positive-negative pairs ranked right
    assert c.prevalence == pytest.approx(0.5)
    assert c.fpr[0] == 0 and c.tpr[-1] == 1 and np.all(np.diff(c.tpr) >= 0)
    assert c.roc_thresholds.max() <= 1.0 and 0 < c.average_precision <= 1
    with pytest.raises(MedlearnInputError, match="only one outcome"):
        ev.curves(np.ones(4, bool), SCORE[:4])


def test_auc_interval_resamples_whole_patients():
    low, high = ev.auc_interval(TRUTH, SCORE, [f"p{i}" for i in range(10)], resamples=300)
    assert low < 19 / 25 < high and 0 <= low and high <= 1
    separated = ev.auc_interval(TRUTH, TRUTH * 0.5 + 0.1, [f"p{i}" for i in range(10)], resamples=100)
    assert separated == (1.0, 1.0)
    # one patient holds every item: nothing to resample, no interval
    assert all(math.isnan(v) for v in ev.auc_interval(TRUTH, SCORE, ["p"] * 10, resamples=100))


def test_rates_at_a_threshold_count_the_confusion_matrix():
    at = ev.at_threshold(TRUTH, SCORE, 0.5)
    assert (at.tp, at.fn, at.fp, at.tn) == (4, 1, 2, 3) and at.n == 10
    assert at.sensitivity == pytest.approx(0.8) and at.specificity == pytest.approx(0.6)
    assert at.ppv == pytest.approx(4 / 6) and at.npv == pytest.approx(3 / 4)
    # the threshold decides "at least": an item exactly on it is positive
    assert ev.at_threshold(TRUTH, SCORE, 0.95).tp == 1
    lower = ev.at_threshold(TRUTH, SCORE, 0.05)
    assert lower.sensitivity == 1 and lower.specificity == 0 and math.isnan(lower.npv)


def test_bayes_ppv_falls_with_prevalence():
    ppv, npv = ev.predictive_values(0.9, 0.9, 0.5)
    assert ppv == pytest.approx(0.9) and npv == pytest.approx(0.9)
    rare, npv_rare = ev.predictive_values(0.9, 0.9, 0.01)
    assert rare == pytest.approx(0.009 / (0.009 + 0.099)) and npv_rare > 0.99
    # at this set's own prevalence, Bayes gives the PPV counted in the set
    at = ev.at_threshold(TRUTH, SCORE, 0.5)
    assert ev.predictive_values(at.sensitivity, at.specificity, TRUTH.mean()) == pytest.approx(
        (at.ppv, at.npv)
    )
    with pytest.raises(MedlearnInputError):
        ev.predictive_values(0.9, 0.9, 1.5)


def test_reliability_bins_give_the_projects_ece():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([0.3, 0.3, 0.3], 200)
    labels = rng.integers(0, 3, 200)
    rel = ev.reliability(labels, probs)
    assert rel.count.sum() == 200 and np.all(rel.count > 0)
    weighted = float((rel.count / 200 * np.abs(rel.confidence - rel.accuracy)).sum())
    assert weighted == pytest.approx(calibration_error(labels, probs)) and rel.ece == pytest.approx(weighted)


def test_temperature_scaling_before_and_after():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    logits = np.where(labels[:, None] == np.arange(2), 1.0, 0.0) * 3 + rng.normal(0, 3, (300, 2))
    raw = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)  # over-confident answers
    served = calibrate(raw, 2.5)  # what a card with T = 2.5 serves
    before, after, t, fitted = ev.temperature_effect(labels, served, 2.5)
    assert t == 2.5 and not fitted
    assert before.ece == pytest.approx(calibration_error(labels, raw), abs=1e-6)
    assert after.ece == pytest.approx(calibration_error(labels, served))
    b2, a2, t2, fitted2 = ev.temperature_effect(labels, raw, None)  # no stored T: fitted on these answers
    assert fitted2 and t2 > 1 and a2.ece < b2.ece


def test_cells_list_the_most_confident_first_and_worst_dice_first():
    cells = ev.cells(TRUTH, SCORE >= 0.5, SCORE)
    assert list(cells) == list(ev.CELLS)
    assert cells["false positive"].tolist() == [7, 3] and cells["false negative"].tolist() == [4]
    assert sorted(np.concatenate(list(cells.values())).tolist()) == list(range(10))
    assert ev.worst([0.8, np.nan, 0.1, 0.5, 0.9], 2).tolist() == [2, 3]
    assert ev.worst([np.nan], 3).size == 0


def test_events_of_ordinal_grades_default_to_referable_disease():
    grades = ("0", "1", "2", "3", "4")
    options = ev.events(grades, ordinal=True)
    chosen = options[ev.default_event(options, ordinal=True)]
    assert chosen.classes == (2, 3, 4)
    probs = np.array([[0.1, 0.2, 0.3, 0.2, 0.2], [0.6, 0.3, 0.1, 0, 0]])
    assert chosen.score(probs) == pytest.approx([0.7, 0.1])
    assert chosen.truth([1, 2, 4]).tolist() == [False, True, True]
    assert {e.classes for e in options} >= {(0,), (4,), (1, 2, 3, 4)}
    assert ev.events(("benign", "malignant"))[0].classes == (1,)


def test_held_out_answers_of_a_tiny_model_are_its_validation_split():
    from medlearn.train.recipes import train_recipe

    record = train_recipe(
        "breast", "alexnet", n_train=8, n_val=6, input_size=32, batch_size=4, epochs=1, width=4
    )
    held = ev.held_out("breast", record.checkpoint, resamples=0)
    assert held.n == 6 == len(held.items) == len(held.facts) and held.probs.shape == (6, 2)
    assert held.threshold == pytest.approx(held.evaluation.threshold) and held.temperature is not None
    assert held.decisions().tolist() == (held.probs[:, 1] >= held.threshold).astype(int).tolist()
    assert ev.events(held.class_names)[0].truth(held.labels).tolist() == [it.label == 1 for it in held.items]

"""Figures inside the field of view: counts known in advance, the corners left out."""

import math

import numpy as np
import pytest

from medlearn.errors import MedlearnInputError
from medlearn.metrics import FOV_FIGURES, fov_scores


def _scene():
    truth = np.zeros((10, 10), np.uint8)
    truth[2:4, 2:8] = 1  # 12 vessel pixels
    prob = np.zeros((10, 10), np.float32)
    prob[2:3, 2:8] = 0.9  # 6 found
    prob[5, 5] = 0.8  # 1 false alarm inside
    prob[9, 9] = 0.9  # 1 false alarm in a corner, outside the field
    fov = np.ones((10, 10), bool)
    fov[8:, 8:] = False
    return truth, prob, fov


def test_counts_inside_the_field_of_view():
    truth, prob, fov = _scene()
    s = fov_scores(truth, prob, fov)
    assert set(FOV_FIGURES) <= set(s) and s["fov_pixels"] == 96
    assert s["sensitivity"] == pytest.approx(6 / 12)
    assert s["specificity"] == pytest.approx(83 / 84)  # 84 background pixels inside, one false alarm
    assert s["accuracy"] == pytest.approx(89 / 96)
    assert s["dice"] == pytest.approx(2 * 6 / (2 * 6 + 1 + 6))
    assert 0.5 < s["auc"] <= 1.0
    everywhere = fov_scores(truth, prob, np.ones_like(fov))
    assert everywhere["specificity"] < s["specificity"]  # the corner's false alarm counts only there


def test_decisions_given_and_undefined_figures():
    truth, prob, fov = _scene()
    none = fov_scores(truth, prob, fov, predicted=np.zeros_like(truth))
    assert none["sensitivity"] == 0 and none["specificity"] == 1 and none["dice"] == 0
    empty = fov_scores(np.zeros_like(truth), prob, fov)
    assert math.isnan(empty["sensitivity"]) and math.isnan(empty["auc"]) and empty["specificity"] < 1
    both_empty = fov_scores(np.zeros_like(truth), np.zeros_like(prob), fov)
    assert math.isnan(both_empty["dice"]) and both_empty["accuracy"] == 1


def test_bad_inputs_are_refused():
    truth, prob, fov = _scene()
    with pytest.raises(MedlearnInputError, match="one shape"):
        fov_scores(truth, prob[:5], fov)
    with pytest.raises(MedlearnInputError, match="empty"):
        fov_scores(truth, prob, np.zeros_like(fov))

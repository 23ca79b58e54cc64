"""FROC: the hit rule, the curve (MONAI's definition), sensitivities at 1/8..8 FP per image,
CPM, the recorder's keys and bootstrap intervals over images or patients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from monai.metrics import compute_froc_curve_data, compute_froc_score

from medlearn.errors import MedlearnInputError
from medlearn.froc import (FP_RATES, ImageResult, froc_curve, froc_figures, froc_scores, match, rate_key,
                           sensitivities, truth_boxes)


def test_a_box_hits_when_its_centre_lies_inside_the_true_box():
    truth = [[10, 10, 20, 20], [40, 40, 44, 44]]
    boxes = [[12, 12, 18, 18],   # centre (15, 15): hits the first
             [0, 0, 6, 6],       # centre (3, 3): a false positive
             [14, 5, 30, 22],    # centre (22, 13.5): x outside [10, 20): a false positive although it overlaps
             [11, 11, 19, 19]]   # a second hit on the first: a duplicate, neither TP nor FP
    r = match(boxes, [0.9, 0.8, 0.7, 0.95], truth)
    assert r.tp.tolist() == [0.95, 0.0]  # the best hit's score; the second nodule is missed
    assert sorted(r.fp.tolist()) == [0.7, 0.8]


def test_classes_must_agree_and_bad_scores_are_refused():
    r = match([[0, 0, 4, 4]], [0.5], [[0, 0, 4, 4]], labels=[2], truth_labels=[1])
    assert r.tp.tolist() == [0.0] and r.fp.tolist() == [0.5]
    with pytest.raises(MedlearnInputError, match="scores"):
        match([[0, 0, 4, 4]], [1.5], [])
    with pytest.raises(MedlearnInputError, match="boxes"):
        match([[0, 0, 4, 4]], [0.5, 0.4], [])


def test_the_curve_is_monais_definition():
    rng = np.random.default_rng(0)
    results = [ImageResult(tp=np.where(rng.random(3) < 0.7, rng.uniform(0.05, 1, 3), 0.0),
                           fp=rng.uniform(0.05, 1, int(rng.integers(0, 6)))) for _ in range(20)]
    fps, sens = froc_curve(results)
    tp = np.concatenate([r.tp for r in results])
    fp = np.concatenate([r.fp for r in results] + [np.zeros(1)])  # the same neutral 0
    ref_fps, ref_sens = compute_froc_curve_data(fp, tp, num_targets=len(tp), num_images=len(results))
    np.testing.assert_allclose(fps, ref_fps)
    np.testing.assert_allclose(sens, ref_sens)
    np.testing.assert_allclose(np.mean(sensitivities(results)), compute_froc_score(ref_fps, ref_sens, FP_RATES))


def test_sensitivities_by_hand():
    # 4 images, 4 nodules. Scores: nodules found at 0.9, 0.6, 0.3 (one missed); false positives 0.8, 0.5, 0.2, 0.1.
    results = [ImageResult(np.array([0.9]), np.array([0.8])), ImageResult(np.array([0.6]), np.array([0.5])),
               ImageResult(np.array([0.3, 0.0]), np.array([0.2])), ImageResult(np.zeros(0), np.array([0.1]))]
    sens = dict(zip(FP_RATES, sensitivities(results)))
    # at threshold 0.9: 1/4 found, 0 FP; 0.8: 1/4 and 1 FP (0.25/image); 0.6: 2/4, 0.25; 0.5: 2/4, 0.5;
    # 0.3: 3/4, 0.5; 0.2: 3/4, 0.75; 0.1: 3/4, 1.0. Interpolated as numpy.interp on the curve.
    assert sens[0.25] == pytest.approx(0.5)  # the last point at 0.25 FP/image (np.interp takes the last)
    assert sens[0.5] == pytest.approx(0.75)
    assert sens[1.0] == pytest.approx(0.75) and sens[8.0] == pytest.approx(0.75)  # beyond the curve: holds
    assert 0.25 <= sens[0.125] <= 0.5


def test_recorder_keys_and_undefined_sensitivity():
    scores = froc_scores([ImageResult(np.array([0.9]), np.zeros(0))])
    assert scores["cpm"] == pytest.approx(1.0) and scores[rate_key(1.0)] == pytest.approx(1.0)
    assert scores["froc_images"] == 1 and scores["froc_objects"] == 1
    assert set(scores) >= {rate_key(r) for r in FP_RATES}
    empty = froc_scores([ImageResult(np.zeros(0), np.array([0.4]))])  # no nodule anywhere
    assert math.isnan(empty["cpm"]) and math.isnan(empty["sensitivity_1fp"])


def test_truth_boxes_are_the_regions_bounding_boxes():
    mask = np.zeros((20, 30), np.uint8)
    mask[2:5, 3:9] = 1
    mask[10:18, 20:22] = 1
    boxes, labels = truth_boxes(mask)
    assert sorted(map(tuple, boxes.astype(int).tolist())) == [(3, 2, 9, 5), (20, 10, 22, 18)]
    assert labels.tolist() == [1, 1]


def test_bootstrap_intervals_over_patients():
    rng = np.random.default_rng(1)
    results = [ImageResult(np.where(rng.random(2) < 0.6, rng.uniform(0.3, 1, 2), 0.0), rng.uniform(0.05, 0.9, 3))
               for _ in range(30)]
    patients = [f"p{i // 3}" for i in range(30)]
    ev = froc_figures(results, patients, resamples=200, seed=0)
    cpm = ev.figure("cpm")
    assert ev.n_images == 30 and ev.n_groups == 10 and ev.n_objects == 60 and cpm.n == 30
    assert cpm.low <= cpm.value <= cpm.high and cpm.high - cpm.low > 0
    assert len(ev.figures) == 1 + len(FP_RATES)
    assert ev.curve["fps"] == sorted(ev.curve["fps"])
    again = froc_figures(results, patients, resamples=200, seed=0)
    assert again.figure("cpm").low == cpm.low  # seeded
    with pytest.raises(MedlearnInputError, match="one per image"):
        froc_figures(results, patients[:5])

"""Metrics against values computed by hand."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from medlearn import metrics as M
from medlearn.errors import MedlearnInputError


def test_accuracy_and_confusion():
    assert M.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    assert M.confusion([0, 1, 1, 0], [0, 1, 0, 0], 2) == [[2, 0], [1, 1]]
    with pytest.raises(MedlearnInputError):
        M.accuracy([], [])


def test_binary_auc_by_pair_counting():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ranked right
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    assert M.auc([0, 0, 1, 1], probs) == pytest.approx(0.75)


def test_multiclass_auc_is_one_vs_rest_macro():
    rng = np.random.default_rng(0)
    labels = np.arange(30) % 3
    probs = rng.dirichlet(np.ones(3), size=30)
    assert M.auc(labels, probs) == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr"))
    assert M.auc([0, 1, 2], np.eye(3)) == 1.0
    assert math.isnan(M.auc([1, 1], np.array([[0.2, 0.8], [0.4, 0.6]])))


def test_quadratic_kappa_hand_computed():
    # O has one off-diagonal count at (2, 1): sum(w*O) = 1/4; sum(w*E) = 1.25 -> 1 - 0.2
    assert M.kappa([0, 1, 2, 2], [0, 1, 1, 2]) == pytest.approx(0.8)
    assert M.kappa([0, 0, 1, 1], [0, 1, 1, 0]) == pytest.approx(0.0)


def test_classification_metrics_bundle():
    probs = torch.tensor([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    out = M.classification_metrics(torch.tensor([0, 1, 1, 1]), probs, ordinal=True)
    assert out["accuracy"] == 0.75 and out["auc"] == 1.0 and out["confusion"] == [[1, 0], [1, 2]]
    assert "kappa" in out
    roc = M.roc_points([0, 1, 1, 1], probs.numpy())
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0


def test_dice_and_iou_hand_computed():
    pred = np.zeros((1, 4, 4), int)
    target = np.zeros((1, 4, 4), int)
    pred[0, 0, :4] = 1            # 4 pixels
    target[0, 0, 1:4] = 1         # 3 of them overlap ...
    target[0, 1, :3] = 1          # ... target has 6 pixels
    out = M.segmentation_metrics(pred, target, num_classes=2, hd95=False)
    assert out["dice"] == pytest.approx(2 * 3 / (4 + 6))
    assert out["iou"] == pytest.approx(3 / 7)


def test_hd95_of_single_pixels_in_mm():
    pred = np.zeros((1, 8, 8), int)
    target = np.zeros((1, 8, 8), int)
    pred[0, 2, 2], target[0, 2, 6] = 1, 1
    assert M.segmentation_metrics(pred, target, 2)["hd95"] == pytest.approx(4.0)
    assert M.segmentation_metrics(pred, target, 2, spacing=(2.0, 0.5))["hd95"] == pytest.approx(2.0)


def test_absent_classes_are_excluded_and_empty_predictions_penalised():
    target = np.zeros((2, 6, 6), int)
    target[0, 1:3, 1:3] = 1
    pred = np.zeros_like(target)          # nothing predicted at all
    out = M.segmentation_metrics(pred, target, num_classes=3, class_names=("bg", "a", "b"))
    assert out["dice"] == 0.0                              # only image 0 / class a counts
    assert math.isnan(out["dice_per_class"]["b"])          # absent everywhere
    assert out["hd95"] == pytest.approx(math.hypot(6, 6))  # worst case: the diagonal
    with pytest.raises(MedlearnInputError):
        M.segmentation_metrics(pred, target[:1], 3)
    with pytest.raises(MedlearnInputError):
        M.segmentation_metrics(pred + 5, target, 3)


def test_losses_and_is_better():
    logits = torch.randn(2, 3, 8, 8)
    target = torch.randint(0, 3, (2, 1, 8, 8))
    assert torch.isfinite(M.segmentation_loss()(logits, target))
    assert torch.isfinite(M.classification_loss()(torch.randn(2, 3), torch.tensor([0, 2])))
    assert M.is_better("val_loss", 0.1, 0.2) and M.is_better("dice", 0.9, 0.8)
    assert not M.is_better("hd95", 5.0, 4.0) and not M.is_better("auc", math.nan, 0.5)


def test_partial_labels_are_neither_taught_nor_scored_as_background():
    """A frame whose myocardium was not drawn: its unlabelled pixels may be background or
    myocardium; the loss and the scores must not count a myocardium there as wrong."""
    from medlearn.metrics import UNLABELLED, PartialLabelLoss, segmentation_metrics

    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[0, 2:6, 2:6] = 2  # myocardium ring around...
    truth[0, 3:5, 3:5] = 1  # ...the cavity
    partial = torch.where(truth == 1, truth, torch.full_like(truth, UNLABELLED))  # cavity drawn only
    scores = segmentation_metrics(truth, partial, 3, class_names=("bg", "cavity", "myo"), hd95=True)
    assert scores["dice_per_class"]["cavity"] == 1.0 and math.isnan(scores["dice_per_class"]["myo"])
    assert scores["dice"] == 1.0 and math.isnan(scores["hd95_per_class"]["myo"])
    loss = PartialLabelLoss()
    right = torch.nn.functional.one_hot(truth, 3).movedim(-1, 1).float() * 20  # confident, correct
    says_background = right.clone()
    says_background[:, 0][truth == 2], says_background[:, 2][truth == 2] = 20, 0
    # with the full labels, calling the myocardium background costs; with partial labels it does not
    assert loss(says_background, truth[:, None]) > loss(right, truth[:, None]) + 0.1
    assert loss(says_background, partial[:, None]) == pytest.approx(float(loss(right, partial[:, None])), abs=1e-4)
    wrong_cavity = right.clone()
    wrong_cavity[:, 1][truth == 1], wrong_cavity[:, 0][truth == 1] = 0, 20
    assert loss(wrong_cavity, partial[:, None]) > loss(right, partial[:, None]) + 0.1  # drawn classes still count
    full = torch.stack([truth[0], truth[0]])[:, None]
    from monai.losses import DiceCELoss

    logits = torch.randn(2, 3, 8, 8)  # fully labelled batches: exactly MONAI's DiceCELoss
    assert float(loss(logits, full)) == pytest.approx(float(DiceCELoss(to_onehot_y=True, softmax=True)(logits, full)))


def test_the_operating_threshold_lies_between_scores_so_rounding_cannot_flip_a_decision():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([0.10, 0.30, 0.45, 0.40, 0.70, 0.90])
    t = M.operating_threshold(labels, probs)
    assert t not in probs and (0.45 < t < 0.70 or 0.30 < t < 0.40)  # halfway between two scores
    youden = M.rates(labels, M.decide(np.stack([1 - probs, probs], 1), t))
    assert youden["sensitivity"] + youden["specificity"] - 1 == pytest.approx(2 / 3)  # the best J here
    jittered = probs + np.array([0, 1e-7, 0, -1e-7, 0, 0])  # a single forward vs a batched one
    two = np.stack([1 - jittered, jittered], 1)
    assert M.rates(labels, M.decide(two, t)) == M.rates(labels, M.decide(np.stack([1 - probs, probs], 1), t))
    assert M.operating_threshold([1, 1, 1], [0.2, 0.5, 0.9]) is None


def test_temperature_softens_overconfident_probabilities_and_keeps_decisions():
    from medlearn.metrics import calibrate, calibration_error, classification_metrics, fit_temperature

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    right = rng.random(400) < 0.7  # 70 % right, but always 99 % sure
    predicted = np.where(right, labels, 1 - labels)
    probs = np.where(predicted[:, None] == np.arange(2), 0.99, 0.01)
    t = fit_temperature(labels, probs)
    assert t > 2  # over-confident: softened
    soft = calibrate(probs, t)
    assert np.array_equal(soft.argmax(1), probs.argmax(1))
    assert calibration_error(labels, soft) < calibration_error(labels, probs) - 0.2
    m = classification_metrics(labels, probs, calibrated=True)
    assert m["temperature"] == pytest.approx(t) and m["ece"] < m["ece_raw"]
    assert np.allclose(calibrate(probs, 1.0), probs)

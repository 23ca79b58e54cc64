"""Hard-exudate figures: per-photograph and pooled AUPR, Dice and sensitivity inside the field of
view with bootstrap intervals; cross-validation through the real training and prediction path."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError
from medlearn.lesions import FIGURES, cross_validate, lesion_figures, photo_scores
from medlearn.metrics import aupr, pr_counts


def _photo(seed: int, lesion_share: float = 0.01):
    """A fundus-like picture (bright disc on black) with small square lesions, and a model's guess."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 < 28 ** 2
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[disc] = (200, 90, 40)
    truth = (rng.random((64, 64)) < lesion_share) & disc
    guess = np.clip(truth * 0.6 + rng.random((64, 64)) * 0.5, 0, 1).astype(np.float32)
    item = SimpleNamespace(id=f"p{seed}", image=MedImage(pixels, modality="OP"), mask=truth.astype(np.uint8),
                           meta={"patient": f"p{seed}"})
    return item, SimpleNamespace(foreground=guess, mask=(guess >= 0.5).astype(np.uint8))


def test_binned_aupr_matches_scikit_learn_and_pools_by_adding_counts():
    (a, pa), (b, pb) = _photo(0), _photo(1)
    fov = np.ones((64, 64), bool)
    exact = average_precision_score(a.mask.ravel(), pa.foreground.ravel())
    assert aupr(pr_counts(a.mask, pa.foreground, fov)) == pytest.approx(exact, abs=0.01)
    pooled = average_precision_score(np.concatenate([a.mask.ravel(), b.mask.ravel()]),
                                     np.concatenate([pa.foreground.ravel(), pb.foreground.ravel()]))
    both = pr_counts(a.mask, pa.foreground, fov) + pr_counts(b.mask, pb.foreground, fov)
    assert aupr(both) == pytest.approx(pooled, abs=0.01)
    assert np.isnan(aupr(pr_counts(np.zeros((64, 64)), pa.foreground, fov)))  # no lesion: undefined
    with pytest.raises(MedlearnInputError):
        aupr(np.zeros((2, 5)))
    with pytest.raises(MedlearnInputError):
        pr_counts(a.mask, pa.foreground, np.zeros((64, 64), bool))


def test_photo_scores_count_inside_the_field_of_view_only():
    item, pred = _photo(2)
    fov = np.zeros((64, 64), bool)
    fov[8:56, 8:56] = True
    s = photo_scores(item.mask, pred.foreground, fov, pred.mask)
    assert s["counts"].sum() == fov.sum() and s["counts"][1].sum() == (item.mask.astype(bool) & fov).sum()
    assert 0 < s["aupr"] <= 1 and 0 <= s["dice"] <= 1 and 0 <= s["sensitivity"] <= 1


def test_lesion_figures_have_intervals_and_n_and_leave_lesion_free_photographs_out_of_sensitivity():
    pairs = [_photo(s) for s in range(5)] + [_photo(9, lesion_share=0.0)]
    figures, rows = lesion_figures([p[0] for p in pairs], [p[1] for p in pairs], resamples=100, seed=0)
    by = {f.name: f for f in figures}
    assert list(by) == list(FIGURES)
    assert by["sensitivity"].n == 5 and by["aupr"].n == 5 and by["aupr_pooled"].n == 6
    assert by["dice"].n == 5  # nothing drawn, nothing predicted: Dice undefined there
    for f in figures:
        assert f.low <= f.value <= f.high
    assert by["aupr"].value > 0.5 and len(rows) == 6 and rows[0]["group"] == "patient:p0"
    with pytest.raises(MedlearnInputError, match="one prediction per photograph"):
        lesion_figures([pairs[0][0]], [])
    with pytest.raises(MedlearnInputError, match="probabilities"):
        lesion_figures([pairs[0][0]], [SimpleNamespace(foreground=None, mask=None)])


def test_cross_validation_trains_a_model_per_fold_and_answers_each_photograph_once():
    result = cross_validate("retina_lesions", "unet", "phantoms", folds=2, resamples=20, epochs=1, n_train=2,
                            n_val=2, input_size=32, width=4, batch_size=2)
    assert result.split == "2-fold" and len(result.rows) == 4
    assert len({r["id"] for r in result.rows}) == 4 and result.plan["fold"] == "1/2"
    assert result.figure("aupr_pooled").n == 4 and result.to_dict()["n_items"] == 4
    with pytest.raises(MedlearnInputError, match="folds"):
        cross_validate(folds=1)
    with pytest.raises(MedlearnInputError, match="two-class"):
        cross_validate("retina", "resnet18", "phantoms", folds=2)

"""Grad-CAM of the grading network against lesion masks: the per-image scores on made-up maps,
their chance levels, and the whole study on phantoms with a fresh-weights grading checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError
from medlearn.trust.lesion_cam import FIGURES, TOLERANCE, score_grading_maps, score_map, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pages"))
from model_fixtures import make_checkpoint  # noqa: E402


def _scene():
    fov = np.zeros((100, 100), bool)
    fov[10:90, 10:90] = True  # 6400 pixels
    lesion = np.zeros((100, 100), np.uint8)
    lesion[20:30, 20:30] = 1  # 100 pixels: 1/64 of the field
    return fov, lesion


def test_a_map_on_the_lesion_hits_and_carries_its_energy():
    fov, lesion = _scene()
    cam = np.zeros((100, 100))
    cam[22:28, 22:28] = 1.0
    cam[0:5, 0:5] = 5.0  # outside the field of view: not counted, not the peak
    s = score_map(cam, lesion, fov, tolerance=0.05)
    assert s["hit"] and s["peak_in_lesion"] and s["peak_distance_px"] == 0 and s["energy"] == pytest.approx(1.0)
    assert s["energy_chance"] == pytest.approx(100 / 6400) and s["energy_ratio"] == pytest.approx(64.0)
    assert s["tolerance_px"] == pytest.approx(5.0) and s["on_disc"] is None
    # chance of a hit: the field's share within 5 px of the lesion (a 20 x 20 square less its rounded corners)
    assert 300 / 6400 < s["hit_chance"] < 400 / 6400
    assert 22 <= s["peak"][0] < 28


def test_a_flat_map_scores_chance_and_a_far_peak_misses():
    fov, lesion = _scene()
    flat = score_map(np.ones((100, 100)), lesion, fov)
    assert flat["energy"] == pytest.approx(flat["energy_chance"]) and flat["energy_ratio"] == pytest.approx(1.0)
    cam = np.zeros((100, 100))
    cam[80, 80] = 1.0
    disc = np.zeros((100, 100), bool)
    disc[75:85, 75:85] = True
    far = score_map(cam, lesion, fov, TOLERANCE, disc=disc)
    assert not far["hit"] and far["energy"] == 0 and far["on_disc"] is True
    assert far["peak_distance_px"] == pytest.approx(np.hypot(80 - 29, 80 - 29))


def test_bad_inputs_are_refused():
    fov, lesion = _scene()
    with pytest.raises(MedlearnInputError, match="empty"):
        score_map(np.ones((100, 100)), np.zeros((100, 100)), fov)
    with pytest.raises(MedlearnInputError, match="shape"):
        score_map(np.ones((50, 100)), lesion, fov)
    with pytest.raises(MedlearnInputError, match="field of view is empty"):
        score_map(np.ones((100, 100)), lesion, np.zeros((100, 100), bool))
    with pytest.raises(MedlearnInputError, match="tolerance"):
        score_map(np.ones((100, 100)), lesion, fov, tolerance=2)


def test_the_study_scores_phantoms_with_a_grading_checkpoint_and_skips_those_without_lesions():
    checkpoint = make_checkpoint("retina")
    items = generate("retina_lesions", n=6, seed=7, size=96)
    items[0].mask[:] = 0  # nothing to point at: skipped, said why
    result = score_grading_maps(items, checkpoint, resamples=50, keep_maps=True)
    assert len(result.rows) + len(result.skipped) == 6 and ("item-0", "no lesion inside the field of view") \
        in result.skipped
    assert set(f.name for f in result.figures) == set(FIGURES) - {"on_disc"}  # no disc masks for phantoms
    for row in result.rows:
        assert row["explained"] != "No DR" and 0 <= row["energy"] <= 1 and row["group"] == row["id"]
        assert result.maps[row["id"]].shape == (96, 96)
    hit = result.figure("hit")
    assert hit.n == len(result.rows) and 0 <= hit.value <= 1 and hit.low <= hit.value <= hit.high
    assert result.verdict == verdict(result) and result.verdict
    assert result.to_dict()["figures"]["energy_ratio"]["n"] == len(result.rows)
    predicted = score_grading_maps(items[1:3], checkpoint, target="predicted", resamples=0)
    assert all(r["explained"] == r["predicted"] for r in predicted.rows)
    assert "Only" in predicted.verdict or "too few" in predicted.verdict or np.isnan(predicted.figures[0].low)
    with pytest.raises(MedlearnInputError, match="target"):
        score_grading_maps(items[1:2], checkpoint, target="lesion")
    with pytest.raises(MedlearnInputError, match="None of the"):
        score_grading_maps(items[:1], checkpoint)

"""Perturbations (identity at the clean level, damage growing with strength, deterministic,
type and geometry kept, masks following rotations) and the robustness curves."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from medlearn.data.image import MedImage
from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.trust.robustness import get_perturbation, image_curve, list_perturbations, set_curve, validation_items

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pages"))
from model_fixtures import make_checkpoint  # noqa: E402

NAMES = [p.name for p in list_perturbations()]


@pytest.fixture(scope="module")
def images():
    """A colour photograph (uint8), a grey ultrasound (uint8), a CT volume (int16), an MR slice (float)."""
    return {case: generate(case, n=1, seed=3, size=48)[0] for case in ("retina", "breast", "lung", "heart")}


def test_the_registry_names_units_and_starts_clean():
    assert NAMES == ["noise", "blur", "gamma", "bias", "motion", "jpeg", "rotation"]
    for p in list_perturbations():
        assert p.unit and p.about and p.levels[0] == p.clean and len(set(p.levels)) == len(p.levels) >= 5
        assert get_perturbation(p.name) is p
    with pytest.raises(UnknownNameError):
        get_perturbation("sharpen")


@pytest.mark.parametrize("name", NAMES)
def test_clean_is_the_identity_and_damage_grows_with_strength(name, images):
    spec = get_perturbation(name)
    for case, item in images.items():
        image = item.image
        same, mask = spec.apply(image, spec.clean, seed=1, mask=item.mask)
        assert same is image and mask is item.mask
        damage = []
        for strength in spec.levels[1:]:
            out, moved = spec.apply(image, strength, seed=1, mask=item.mask)
            assert out.pixels.shape == image.pixels.shape and out.pixels.dtype == image.pixels.dtype
            assert out.is_rgb == image.is_rgb and out.spacing == image.spacing and out.window == image.window
            assert np.isfinite(out.pixels.astype(np.float64)).all()
            if item.mask is not None:
                assert moved.shape == item.mask.shape and set(np.unique(moved)) <= set(np.unique(item.mask))
            damage.append(np.sqrt(np.mean((out.pixels.astype(np.float64) - image.pixels.astype(np.float64)) ** 2)))
        assert damage[0] > 0, (case, name)
        # motion: a ghost displaced by nearly a period of a fine pattern can match it a little better than
        # a smaller displacement, so its damage grows on the whole, not at every single step
        slack = 0.9 if name == "motion" else 1.0
        assert all(b >= slack * a for a, b in zip(damage, damage[1:])), (case, name, damage)
        assert damage[-1] > 1.5 * damage[0], (case, name, damage)


@pytest.mark.parametrize("name", NAMES)
def test_a_seed_repeats_the_same_perturbation(name, images):
    spec, image = get_perturbation(name), images["breast"].image
    strength = spec.levels[2]
    a, b = spec.apply(image, strength, seed=5)[0], spec.apply(image, strength, seed=5)[0]
    np.testing.assert_array_equal(a.pixels, b.pixels)
    if name in ("noise", "bias", "motion"):  # the random ones: another seed, another draw
        assert not np.array_equal(a.pixels, spec.apply(image, strength, seed=6)[0].pixels)


def test_only_geometric_perturbations_move_the_mask(images):
    item = images["heart"]
    assert np.array_equal(get_perturbation("noise").apply(item.image, 20, 0, item.mask)[1], item.mask)
    moved = get_perturbation("rotation").apply(item.image, 30, 0, item.mask)[1]
    assert not np.array_equal(moved, item.mask) and moved.any()


def test_a_strength_out_of_range_is_a_typed_error(images):
    with pytest.raises(MedlearnInputError, match="outside"):
        get_perturbation("blur").apply(images["breast"].image, 50, 0)


def test_jpeg_of_an_8_bit_picture_keeps_its_scale():
    grey = MedImage(np.tile(np.linspace(0, 255, 64, dtype=np.float32), (64, 1)).round().astype(np.uint8))
    out = get_perturbation("jpeg").apply(grey, 75, 0)[0]
    assert abs(float(out.pixels.mean()) - float(grey.pixels.mean())) < 2


def test_curves_of_a_classifier_and_a_segmenter():
    breast = make_checkpoint("breast")
    items = generate("breast", n=3, seed=1, size=48)
    curve = image_curve("breast", items[0].image, breast, "noise", levels=(0, 10, 35))
    assert [p.strength for p in curve.points] == [0, 10, 35] and curve.score_name.startswith("probability of")
    assert not curve.points[0].changed and all(0 <= p.score <= 1 for p in curve.points)
    assert curve.points[0].confidence == curve.points[0].score  # clean: the answer's own probability
    result = set_curve("breast", items, breast, "rotation", resamples=50)
    assert result.score_name == "accuracy" and result.n == 3 and len(result.values) == len(result.strengths) == 6
    assert all(0 <= v <= 1 for v in result.values) and len(result.confidence) == 6
    assert result.values == set_curve("breast", items, breast, "rotation", resamples=50).values  # deterministic
    heart = make_checkpoint("heart")
    slices = generate("heart", n=2, seed=1, size=48)
    seg = image_curve("heart", slices[0].image, heart, "rotation", mask=slices[0].mask, levels=(0, 20))
    assert seg.score_name == "Dice" and seg.reference == "the expert mask"
    assert seg.points[0].answer.startswith("Dice")
    assert set_curve("heart", slices, heart, "blur", resamples=0).score_name == "Dice"


def test_validation_items_come_from_the_models_own_split():
    checkpoint = make_checkpoint("breast")
    items, note = validation_items("breast", checkpoint, 3)
    assert len(items) == 3 and "validation split" in note

"""Lung CT phantom: determinism, HU ranges, geometry, the documented label rule."""

import numpy as np
import pytest

from medlearn.data.phantoms import generate, make_one
from medlearn.data.phantoms.lung import central_slice, label_rule, lungrads
from medlearn.errors import MedlearnInputError


def test_same_seed_same_cube_and_other_seed_differs():
    a, b = (make_one("lung", seed=3, size=16) for _ in range(2))
    c = make_one("lung", seed=4, size=16)
    assert np.array_equal(a.image.pixels, b.image.pixels) and a.params == b.params
    assert not np.array_equal(a.image.pixels, c.image.pixels)


def test_cube_geometry_units_and_windows():
    ph = make_one("lung", seed=1, size=24, chest_wall="no", diameter_mm=8.0, calcification="none")
    img = ph.image
    assert img.shape == (24, 24, 24) and img.modality == "CT" and img.pixels.dtype == np.int16
    assert img.spacing == pytest.approx((1.25 * 45 / 24, 45 / 24, 45 / 24))
    assert {w.name for w in img.windows} == {"lung", "mediastinum"} and img.window.center == -600
    assert -900 < np.median(img.pixels) < -800  # aerated parenchyma
    assert ph.mask.shape == img.shape and set(np.unique(ph.mask)) == {0, 1}
    assert ph.mask[tuple(ph.params["center_vox"])] == 1


def test_volume_exact_from_mask_and_close_to_analytic():
    ph = make_one("lung", seed=2, size=32, diameter_mm=12.0, spiculation=0.0, lobulation=0.3)
    voxel = float(np.prod(ph.image.spacing))
    assert ph.params["volume_mm3"] == pytest.approx(ph.mask.sum() * voxel, abs=0.006)  # rounded to 0.01
    assert ph.params["volume_mm3"] == pytest.approx(ph.params["volume_mm3_analytic"], rel=0.15)
    assert ph.params["volume_mm3_analytic"] == pytest.approx(np.pi / 6 * 12.0 ** 3, rel=0.15)


@pytest.mark.parametrize("kind, low, high", [("solid", -60, 120), ("ground-glass", -700, -200)])
def test_nodule_attenuation_by_type(kind, low, high):
    ph = make_one("lung", seed=5, size=32, difficulty=0.0, type=kind, diameter_mm=14.0,
                  spiculation=0.0, calcification="none", chest_wall="no")
    assert low < np.median(ph.image.pixels[ph.mask == 1]) < high


def test_central_calcification_is_calcium_and_benign():
    ph = make_one("lung", seed=6, size=32, type="solid", diameter_mm=14.0, calcification="central",
                  chest_wall="no")
    z, y, x = ph.params["center_vox"]
    assert ph.image.pixels[z, y, x] > 200 and ph.label == 0 and ph.params["lungrads"] == "2"


def test_part_solid_keeps_a_solid_core_in_ground_glass():
    ph = make_one("lung", seed=7, size=32, difficulty=0.0, type="part-solid", diameter_mm=20.0,
                  solid_diameter_mm=8.0, chest_wall="no")
    z, y, x = ph.params["center_vox"]
    inside = ph.image.pixels[ph.mask == 1]
    assert ph.image.pixels[z, y, x] > -150 and np.percentile(inside, 10) < -300
    assert ph.label == 1


@pytest.mark.parametrize("args, expected", [
    (("solid", 10.0, 10.0, 0.8, "none"), 1),      # spiculated solid >= 8 mm
    (("solid", 10.0, 10.0, 0.1, "none"), 0),      # smooth 10 mm
    (("solid", 16.0, 16.0, 0.0, "none"), 1),      # >= 15 mm
    (("part-solid", 12.0, 7.0, 0.0, "none"), 1),  # solid component >= 6 mm
    (("part-solid", 12.0, 4.0, 0.0, "none"), 0),
    (("ground-glass", 12.0, 0.0, 0.0, "none"), 0),
    (("solid", 20.0, 20.0, 0.9, "popcorn"), 0),   # benign calcification wins
])
def test_label_rule(args, expected):
    assert label_rule(*args) == expected


def test_generated_labels_follow_rule_without_noise_at_difficulty_zero():
    for ph in generate("lung", n=6, seed=11, difficulty=0.0, size=16):
        p = ph.params
        assert p["rule_size_factor"] == 1.0 and p["rule_spiculation_cut"] == 0.5
        assert ph.label == label_rule(p["type"], p["diameter_mm"], p["solid_diameter_mm"], p["spiculation"],
                                      p["calcification"])


def test_lungrads_categories():
    assert lungrads("solid", 5.0, 5.0, 0.0, "none") == "2"
    assert lungrads("solid", 10.0, 10.0, 0.0, "none") == "4A"
    assert lungrads("solid", 10.0, 10.0, 0.9, "none") == "4X"
    assert lungrads("part-solid", 12.0, 7.0, 0.0, "none") == "4A"


def test_central_slice_is_2d_through_the_nodule():
    ph = make_one("lung", seed=8, size=24, diameter_mm=10.0)
    sl = central_slice(ph)
    assert sl.image.spatial_dims == 2 and sl.image.shape == (24, 24) and len(sl.image.spacing) == 2
    assert sl.mask.shape == (24, 24) and sl.mask.sum() > 0 and sl.label == ph.label


@pytest.mark.parametrize("kw", [{"diameter_mm": 100.0}, {"type": "glassy"}, {"colour": 1}, {"difficulty": 2.0}])
def test_bad_inputs_raise_typed_errors(kw):
    with pytest.raises(MedlearnInputError):
        make_one("lung", seed=0, size=16, **kw)

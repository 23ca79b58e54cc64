import numpy as np
import pytest

from medlearn.clinical import (
    area_mm2,
    hippocampal_asymmetry,
    hippocampal_volumes,
    lv_function,
    lv_slice_areas,
    nodule_size,
    volume_mm3,
)
from medlearn.errors import MedlearnInputError

SPACING = (10.0, 1.5, 1.5)  # 10 mm slices, 1.5 mm pixels


def cylinder(radius_px, wall_px=0, slices=8, size=64):
    """A short-axis LV stack: cavity disc (1) inside a myocardial ring (2) on `slices` slices."""
    yy, xx = np.mgrid[:size, :size]
    r2 = (yy - size // 2) ** 2 + (xx - size // 2) ** 2
    sl = np.zeros((size, size), np.uint8)
    sl[r2 <= (radius_px + wall_px) ** 2] = 2
    sl[r2 <= radius_px**2] = 1
    vol = np.zeros((slices + 2, size, size), np.uint8)
    vol[1:-1] = sl
    return vol


def test_volume_is_sum_of_areas_times_slice_spacing():
    vol = cylinder(10)
    disc_px = np.count_nonzero(vol[1] == 1)
    expected = disc_px * 1.5 * 1.5 * 8 * 10.0
    assert volume_mm3(vol, SPACING, 1) == pytest.approx(expected)
    # close to the analytic cylinder pi r^2 h
    assert volume_mm3(vol, SPACING, 1) == pytest.approx(np.pi * (10 * 1.5) ** 2 * 80, rel=0.03)


def test_ef_of_two_cylinders():
    ed, es = cylinder(12, wall_px=4), cylinder(8, wall_px=6)
    out = lv_function(ed, es, SPACING)
    edv = np.count_nonzero(ed == 1) * 1.5 * 1.5 * 10 / 1000
    esv = np.count_nonzero(es == 1) * 1.5 * 1.5 * 10 / 1000
    assert out["edv_ml"] == pytest.approx(edv)
    assert out["esv_ml"] == pytest.approx(esv)
    assert out["stroke_volume_ml"] == pytest.approx(edv - esv)
    assert out["ef_percent"] == pytest.approx(100 * (edv - esv) / edv)
    # analytic: EF = 1 - (8/12)^2 = 55.6 %
    assert out["ef_percent"] == pytest.approx(100 * (1 - (8 / 12) ** 2), abs=2.0)
    myo_ml = np.count_nonzero(ed == 2) * 1.5 * 1.5 * 10 / 1000
    assert out["myocardial_mass_g"] == pytest.approx(myo_ml * 1.05)


def test_ef_needs_a_cavity():
    with pytest.raises(MedlearnInputError):
        lv_function(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)), (1, 1, 1))


def test_single_slice_areas():
    sl = cylinder(5, wall_px=2, slices=1)[1]
    out = lv_slice_areas(sl, (2.0, 2.0))
    assert out["lv_cavity_area_mm2"] == pytest.approx(np.count_nonzero(sl == 1) * 4.0)
    assert out["myocardium_area_mm2"] == pytest.approx(np.count_nonzero(sl == 2) * 4.0)
    assert area_mm2(sl, (1, 1), 7) == 0.0


def test_hippocampal_volumes_per_label_and_total():
    m = np.zeros((4, 5, 6), np.uint8)
    m[0, :2, :3] = 1  # 6 voxels
    m[2, 1:4, 1:5] = 2  # 12 voxels
    out = hippocampal_volumes(m, (1.0, 1.0, 2.0), ("background", "anterior (head)", "posterior (body/tail)"))
    assert out["hippocampal_volume_mm3"] == pytest.approx(36.0)
    assert out["volume_mm3[anterior (head)]"] == pytest.approx(12.0)
    assert out["volume_mm3[posterior (body/tail)]"] == pytest.approx(24.0)
    asym = hippocampal_asymmetry(m == 1, m == 2, (1.0, 1.0, 2.0))
    assert asym["left_hippocampal_volume_mm3"] == 12.0 and asym["right_hippocampal_volume_mm3"] == 24.0
    assert asym["asymmetry_index_percent"] == pytest.approx(100 * 12 / 18)


def test_nodule_size_sphere_and_disc():
    z, y, x = np.mgrid[:31, :31, :31]
    ball = ((z - 15) ** 2 + (y - 15) ** 2 + (x - 15) ** 2) <= 64  # radius 8 voxels of 0.7 mm
    ball[0, 0, 0] = True  # a speck: ignored, the largest component is measured
    out = nodule_size(ball, (0.7, 0.7, 0.7))
    assert out["nodule_volume_mm3"] == pytest.approx(4 / 3 * np.pi * (8 * 0.7) ** 3, rel=0.05)
    assert out["equivalent_diameter_mm"] == pytest.approx(16 * 0.7, rel=0.03)
    assert out["nodule_diameter_mm"] == pytest.approx(16 * 0.7, rel=0.1)
    disc = ball[15]
    out2 = nodule_size(disc, (0.7, 0.7))
    assert out2["nodule_area_mm2"] == pytest.approx(np.pi * (8 * 0.7) ** 2, rel=0.05)


def test_nodule_feret_uses_anisotropic_spacing():
    m = np.zeros((10, 30), bool)
    m[4:6, 5:25] = True  # 20 px long in x, 2 px tall
    out = nodule_size(m, (1.0, 0.5))
    assert out["nodule_diameter_mm"] == pytest.approx(10.0, abs=1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: nodule_size(np.zeros((5, 5)), (1, 1)),
        lambda: volume_mm3(np.zeros((5, 5)), (1, 1)),
        lambda: volume_mm3(np.zeros((2, 5, 5)), (1, 1)),
        lambda: area_mm2(np.zeros((5, 5)), (0, 1)),
    ],
)
def test_bad_inputs_raise_typed_errors(call):
    with pytest.raises(MedlearnInputError):
        call()


def test_measure_keeps_mm_names_when_the_spacing_is_known():
    from medlearn.clinical import measure

    out, notes = measure(("hippocampal_volume_mm3",), cylinder(5), np.zeros((10, 64, 64)), SPACING, ("bg", "head"))
    assert out["hippocampal_volume_mm3"] == pytest.approx(np.count_nonzero(cylinder(5)) * 10 * 1.5 * 1.5)
    assert not any(k.endswith(("_px", "_px2", "_px3")) or "_px3[" in k for k in out)
    assert not any("pixel spacing" in n for n in notes)


def test_measure_in_pixels_when_the_spacing_is_unknown():
    from medlearn.clinical import NO_SPACING_NOTE, measure

    vol = cylinder(6, wall_px=2, slices=4)
    out, notes = measure(("hippocampal_volume_mm3",), vol, np.zeros(vol.shape), SPACING, ("bg", "head", "tail"),
                         spacing_known=False)  # the spacing passed is ignored
    assert out["hippocampal_volume_px3"] == np.count_nonzero(vol)
    assert out["volume_px3[head]"] == np.count_nonzero(vol == 1) and out["volume_px3[tail]"] == np.count_nonzero(vol == 2)
    assert not any("mm" in k for k in out) and NO_SPACING_NOTE in notes

    heart, notes = measure(("ef_percent",), vol, np.zeros(vol.shape), SPACING, spacing_known=False)
    assert heart["lv_cavity_volume_px3"] == pytest.approx(np.count_nonzero(vol == 1))
    assert heart["myocardium_volume_px3"] == pytest.approx(np.count_nonzero(vol == 2))
    assert "myocardial_mass_g" not in heart and not any(k.endswith("_ml") for k in heart)
    assert any("myocardial mass" in n for n in notes)
    slice_areas, _ = measure(("ef_percent",), vol[2], np.zeros(vol.shape[1:]), SPACING[1:], spacing_known=False)
    assert slice_areas == {"lv_cavity_area_px2": float(np.count_nonzero(vol[2] == 1)),
                           "myocardium_area_px2": float(np.count_nonzero(vol[2] == 2))}


def test_nodule_in_pixels_on_a_crop_without_spacing():
    from medlearn.clinical import NO_SPACING_NOTE, measure

    yy, xx = np.mgrid[:50, :50]
    crop = ((yy - 25) ** 2 + (xx - 25) ** 2 <= 8**2).astype(np.float32)
    known, _ = measure(("nodule_diameter_mm",), None, crop, (0.5, 0.5))
    out, notes = measure(("nodule_diameter_mm",), None, crop, (0.5, 0.5), spacing_known=False)
    assert set(out) == {"nodule_diameter_px", "equivalent_diameter_px", "nodule_area_px2"}
    assert out["nodule_area_px2"] == crop.sum() and out["nodule_diameter_px"] == pytest.approx(16, abs=1.5)
    assert known["nodule_diameter_mm"] == pytest.approx(out["nodule_diameter_px"] * 0.5)
    assert NO_SPACING_NOTE in notes


def test_numbers_of_a_class_nobody_drew_are_left_out_not_zero():
    """A Sunnybrook frame with only the endocardial contour: its myocardium is unknown, so its
    area, volume and mass are left out (with a note); the cavity's numbers stay."""
    from medlearn.clinical import measure

    cavity_only = cylinder(5, wall_px=0, slices=1)[1]
    heart = ("edv_ml", "ef_percent", "myocardial_mass_g")
    names = ("bg", "LV cavity", "myocardium")
    out, notes = measure(heart, cavity_only, np.zeros((64, 64)), (1.5, 1.5), names, undrawn=[2])
    assert set(out) == {"lv_cavity_area_mm2"} and out["lv_cavity_area_mm2"] > 0
    assert any("Not drawn on this image by the experts: myocardium" in n for n in notes)
    stack = cylinder(5, wall_px=0)
    out, _ = measure(heart, stack, np.zeros(stack.shape), SPACING, names, undrawn=[0, 2])
    assert "lv_cavity_volume_ml" in out and not {"myocardium_volume_ml", "epicardial_volume_ml",
                                                 "myocardial_mass_g"} & set(out)
    full, notes = measure(heart, stack, np.zeros(stack.shape), SPACING, names)
    assert full["myocardium_volume_ml"] == 0.0 and not any("Not drawn" in n for n in notes)  # drawn: a true 0


def test_undrawn_classes_read_the_items_labelled_list():
    from types import SimpleNamespace

    from medlearn.data.sources.base import undrawn_classes

    assert undrawn_classes(SimpleNamespace(meta={"labelled": [0, 1]}), 3) == [2]
    assert undrawn_classes(SimpleNamespace(meta={"labelled": [0, 1, 2]}), 3) == []
    assert undrawn_classes(SimpleNamespace(meta={}), 3) == [] and undrawn_classes(object(), 3) == []

"""Cardiac cine phantom: shapes, Simpson volumes from masks against analytic EF, 2D frames."""

import numpy as np
import pytest
from scipy import ndimage

from medlearn.data.phantoms import make_cine, make_one
from medlearn.errors import MedlearnInputError


@pytest.fixture(scope="module")
def cine():
    return make_cine(seed=1, n_slices=8, n_phases=8, size=96, variant="normal")


def test_cine_shapes_and_spacing(cine):
    assert cine.images.shape == cine.masks.shape == (8, 8, 96, 96)
    assert cine.images.dtype == np.float32 and cine.masks.dtype == np.uint8
    assert cine.spacing[0] == 10.0 and cine.spacing[1] * 96 == pytest.approx(350.0)
    assert set(np.unique(cine.masks)) == {0, 1, 2} and cine.images.min() >= 0


def test_same_seed_same_cine():
    a, b = (make_cine(seed=3, n_slices=3, n_phases=4, size=32) for _ in range(2))
    assert np.array_equal(a.images, b.images) and a.params == b.params


def test_simpson_from_masks_matches_analytic_volumes(cine):
    vols = cine.mask_volumes_ml()
    assert vols.argmax() == cine.ed_phase and vols.argmin() == cine.es_phase
    assert vols[cine.ed_phase] == pytest.approx(cine.edv_ml, rel=0.04)
    ef_masks = 100 * (vols[cine.ed_phase] - vols[cine.es_phase]) / vols[cine.ed_phase]
    assert abs(ef_masks - cine.ef_percent) < 2.0
    assert cine.stroke_volume_ml == pytest.approx(cine.edv_ml - cine.esv_ml, abs=1e-2)
    assert cine.ef_percent == pytest.approx(100 * cine.stroke_volume_ml / cine.edv_ml, abs=1e-2)


def test_myocardium_is_conserved_and_thickens(cine):
    myo = (cine.masks == 2).sum(axis=(1, 2, 3)).astype(float)
    assert myo.max() / myo.min() < 1.08
    voxel_ml = np.prod(cine.spacing) / 1000
    assert myo[0] * voxel_ml * 1.05 == pytest.approx(cine.myocardial_mass_g, rel=0.1)


def test_bright_blood_dark_myocardium(cine):
    img, m = cine.images[0], cine.masks[0]
    ratio = np.median(img[m == 1]) / np.median(img[m == 2])
    assert 2.0 < ratio < 4.0  # Sunnybrook SSFP at ED/ES: 1.9-3.3 (medians inside the expert contours)


@pytest.mark.parametrize("variant", ["infarct", "dilated"])
def test_heart_failure_variants_have_large_volumes_and_low_ef(variant):
    c = make_cine(seed=2, n_slices=12, n_phases=6, size=64, variant=variant, edv_ml=245.0, ef_percent=30.0)
    assert c.edv_ml == pytest.approx(245.0, rel=0.01) and c.ef_percent == pytest.approx(30.0, abs=1.0)
    vols = c.mask_volumes_ml()
    assert abs(100 * (vols[0] - vols[c.es_phase]) / vols[0] - c.ef_percent) < 2.0


def test_hypertrophy_is_heavier_than_normal():
    kw = dict(seed=4, n_slices=10, n_phases=4, size=32, edv_ml=110.0, ef_percent=65.0)
    assert make_cine(variant="hypertrophic", wall_mm=18.0, **kw).myocardial_mass_g > \
        1.6 * make_cine(variant="normal", wall_mm=8.0, **kw).myocardial_mass_g


def test_2d_frame_phantom():
    ph = make_one("heart", seed=5, size=64, slice_index=3)
    assert ph.image.shape == (64, 64) and ph.image.modality == "MR" and ph.label is None
    assert ph.image.spacing == pytest.approx((350 / 64, 350 / 64))
    p = ph.params
    assert p["slice_index"] == 3 and 0 <= p["phase_index"] < 20 and 5 < p["ef_percent"] < 85
    cavity = ph.mask == 1
    assert cavity.any()
    ring = ndimage.binary_dilation(cavity) & ~cavity
    assert (ph.mask[ring] == 2).mean() > 0.9  # the myocardium surrounds the cavity


@pytest.mark.parametrize("kw", [{"n_slices": 0}, {"variant": "broken"}, {"size": 8}, {"slice_index": 2}])
def test_bad_cine_inputs_raise_typed_errors(kw):
    with pytest.raises(MedlearnInputError):
        make_cine(seed=0, **kw)


def _blood_noise(difficulty):
    """Pixel-to-pixel noise in the blood pool relative to its signal."""
    ph = make_one("heart", seed=8, size=128, difficulty=difficulty, variant="normal",
                  slice_index=2, phase_index=0)
    img = ph.image.pixels
    core = ndimage.binary_erosion(ph.mask == 1, iterations=3)
    return np.std((img - ndimage.uniform_filter(img, 3))[core]) / np.median(img[core])


def test_difficulty_adds_noise():
    assert _blood_noise(0.9) > 1.3 * _blood_noise(0.1)  # despite the wider blur at 0.9


import numpy as np
import pytest
from skimage.exposure import equalize_adapthist

from medlearn.data.image import MedImage, Window
from medlearn.enhance import apply_window, clahe, get_preset, list_presets, separate_stains, with_window
from medlearn.errors import MedlearnInputError, UnknownNameError


def test_clahe_matches_skimage_on_min_max_scaled_array():
    img = np.linspace(0, 50, 32 * 32, dtype=np.float32).reshape(32, 32)
    out = clahe(img, clip_limit=0.02)
    expected = equalize_adapthist(img / 50.0, clip_limit=0.02)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_clahe_on_medimage_uses_its_window_and_resets_it():
    img = MedImage(np.random.default_rng(0).normal(0, 100, (24, 24)).astype(np.float32), modality="CT")
    out = clahe(img)
    assert isinstance(out, MedImage) and out.window == Window(0.5, 1.0, "unit")
    assert out.pixels.shape == (24, 24)


def test_clahe_rejects_bad_clip():
    with pytest.raises(MedlearnInputError):
        clahe(np.ones((8, 8)), clip_limit=0)


def test_window_presets():
    assert get_preset("Lung") == Window(-600.0, 1500.0, "lung")
    assert get_preset("mediastinum").width == 350.0 and get_preset("mediastinum").center == 50.0
    assert "bone" in {w.name for w in list_presets()}
    with pytest.raises(UnknownNameError):
        get_preset("liver-ish")


def test_apply_window_maps_edges():
    hu = np.array([[-1350.0, -600.0, 150.0, 1000.0]], np.float32)
    np.testing.assert_allclose(apply_window(hu, "lung"), [[0.0, 0.5, 1.0, 1.0]])
    ct = MedImage(np.array([[-125.0, 50.0], [225.0, -1000.0]], np.float32), modality="CT")
    np.testing.assert_allclose(apply_window(ct, "mediastinum"), [[0.0, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(apply_window(hu, (0.0, 100.0)), [[0.0, 0.0, 1.0, 1.0]])
    assert with_window(ct, "lung").window.name == "lung"
    with pytest.raises(MedlearnInputError):
        apply_window(hu, (0.0, -5.0))


def test_stain_separation_shapes_and_nuclei_are_haematoxylin():
    rgb = np.full((20, 20, 3), 240, np.uint8)
    rgb[:10] = (80, 40, 140)  # purple nuclei
    rgb[10:] = (230, 120, 170)  # pink stroma
    st = separate_stains(MedImage(rgb, modality="SM"))
    assert st.haematoxylin.shape == (20, 20, 3) and st.haematoxylin.dtype == np.uint8
    assert st.eosin.shape == (20, 20, 3)
    assert st.haematoxylin_density.shape == (20, 20) and st.haematoxylin_density.max() <= 1.0
    assert st.haematoxylin_density[:10].mean() > st.haematoxylin_density[10:].mean()


def test_stain_separation_needs_colour():
    with pytest.raises(MedlearnInputError):
        separate_stains(np.ones((8, 8)))


def test_clahe_on_a_volume_works_slice_by_slice():
    vol = np.random.default_rng(3).random((3, 16, 16)).astype(np.float32)
    out = clahe(vol)
    assert out.shape == (3, 16, 16)
    unit = (vol - vol.min()) / (vol.max() - vol.min())
    np.testing.assert_allclose(out[1], equalize_adapthist(unit[1], clip_limit=0.01), atol=1e-5)
    assert not np.allclose(out, vol)

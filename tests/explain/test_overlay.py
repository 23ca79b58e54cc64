import numpy as np
import pytest

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.explain import OKABE_ITO, colourise, heatmap_overlay, list_colormaps, mask_overlay, to_rgb_uint8


def test_colour_maps_default_safe_and_jet_flagged():
    maps = list_colormaps()
    assert maps[0].name == "viridis" and maps[0].colour_blind_safe
    assert {m.name for m in maps if not m.colour_blind_safe} == {"jet"}
    assert "jet" not in {m.name for m in list_colormaps(safe_only=True)}
    with pytest.raises(UnknownNameError):
        colourise(np.zeros((2, 2)), "rainbow")


def test_colourise_ends_of_viridis_and_jet():
    v = colourise(np.array([0.0, 1.0]))
    assert v.dtype == np.uint8 and v.shape == (2, 3)
    assert tuple(v[0]) == (68, 1, 84) and tuple(v[1]) == (253, 231, 37)  # viridis purple -> yellow
    j = colourise(np.array([0.0, 1.0]), "jet")
    assert j[0, 2] > 100 and j[1, 0] > 100  # jet blue -> red


def test_heatmap_overlay_grey_colour_and_resize():
    grey = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    cam = np.zeros((8, 8), np.float32)
    cam[2, 3] = 1.0
    out = heatmap_overlay(grey, cam, alpha=1.0)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, colourise(cam))
    rgb = MedImage(np.full((16, 16, 3), 200, np.uint8), modality="OP")
    out = heatmap_overlay(rgb, np.ones((4, 4), np.float32), cmap="cividis", alpha=0.0)
    assert out.shape == (16, 16, 3) and (out == 200).all()
    with pytest.raises(MedlearnInputError):
        heatmap_overlay(grey, np.zeros((2, 2, 2)))
    with pytest.raises(MedlearnInputError):
        heatmap_overlay(grey, cam, alpha=2)


def test_overlay_on_a_volume():
    vol = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    assert heatmap_overlay(vol, vol).shape == (3, 8, 8, 3)  # 3 slices, not a colour picture
    assert to_rgb_uint8(vol, (3, 8, 8)).shape == (3, 8, 8, 3)


def test_mask_overlay_fill_and_outline_use_okabe_ito():
    img = np.zeros((10, 10), np.float32)
    mask = np.zeros((10, 10), np.uint8)
    mask[2:7, 2:7] = 1
    mask[8, 8] = 2
    filled = mask_overlay(img, mask, alpha=1.0)
    assert filled.dtype == np.uint8 and filled.shape == (10, 10, 3)
    assert tuple(filled[4, 4]) == OKABE_ITO[0] and tuple(filled[8, 8]) == OKABE_ITO[1]
    assert tuple(filled[0, 0]) == (0, 0, 0)
    outline = mask_overlay(img, mask, mode="outline")
    assert tuple(outline[2, 4]) == OKABE_ITO[0] and tuple(outline[4, 4]) == (0, 0, 0)
    with pytest.raises(MedlearnInputError):
        mask_overlay(img, mask, mode="dots")


def test_a_uint8_picture_is_drawn_as_it_is_not_stretched():
    flat = np.full((4, 4), 128, np.uint8)
    assert (to_rgb_uint8(flat) == 128).all()
    assert (to_rgb_uint8(flat.astype(np.float32)) == 0).all()  # other arrays: min-max (a flat one is black)

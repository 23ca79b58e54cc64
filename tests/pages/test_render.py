"""ui.shared.render: overlays, planes and thumbnails on tiny arrays (no Streamlit needed)."""

import numpy as np
import pytest

from medlearn.data.image import MedImage, Window
from medlearn.explain.overlay import OKABE_ITO
from ui.shared.render import (display_size, label_colour, overlay, plane_slice,
                       plane_spacing, render_2d, thumbnail, window_choices)


def test_overlay_colours_only_the_labelled_pixels():
    base = np.full((8, 8), 0.5, np.float32)
    mask = np.zeros((8, 8), np.uint8)
    mask[2:4, 2:4] = 1
    mask[5:7, 5:7] = 2
    out = overlay(base, mask, opacity=1.0)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == (128, 128, 128)
    assert np.allclose(out[2, 2] / 255, np.array(OKABE_ITO[0]) / 255, atol=1 / 255)
    assert np.allclose(out[6, 6] / 255, np.array(OKABE_ITO[1]) / 255, atol=1 / 255)


def test_outline_leaves_the_inside_of_a_region_untouched():
    mask = np.zeros((9, 9), np.uint8)
    mask[2:7, 2:7] = 1
    out = overlay(np.zeros((9, 9)), mask, outline=True)
    assert out[4, 4].sum() == 0 and out[2, 4].sum() > 0


def test_half_opacity_blends():
    out = overlay(np.zeros((2, 2)), np.ones((2, 2), np.uint8), opacity=0.5)
    assert np.allclose(out[0, 0] / 255, 0.5 * np.array(OKABE_ITO[0]) / 255, atol=1 / 255)


def test_planes_and_their_spacing():
    vol = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    assert plane_slice(vol, "axial", 1).shape == (5, 6)
    assert plane_slice(vol, "coronal", 2).shape == (4, 6)
    assert plane_slice(vol, "sagittal", 99).shape == (4, 5)  # clipped to the last slice
    # flipped so that increasing Z points up: the top row is the last slice
    assert plane_slice(vol, "coronal", 0)[0, 0] == vol[-1, 0, 0]
    assert plane_spacing((3.0, 1.0, 0.5), "sagittal") == (3.0, 1.0)


def test_display_size_keeps_physical_aspect():
    assert display_size((10, 20), (2.0, 1.0), 100) == (100, 100)
    assert display_size((28, 28), (1.0, 1.0), 280) == (280, 280)


def test_render_2d_upsamples_masks_without_inventing_labels():
    mask = np.zeros((4, 4), np.uint8)
    mask[1:3, 1:3] = 2
    out = render_2d(np.zeros((4, 4), np.float32), mask, (1.0, 1.0), 64, opacity=1.0)
    assert out.shape == (64, 64, 3)
    colours = {tuple(c) for c in out.reshape(-1, 3)}
    assert colours == {(0, 0, 0), OKABE_ITO[1]}


@pytest.mark.parametrize("pixels,modality", [
    (np.random.default_rng(0).normal(size=(6, 10, 12)).astype(np.float32), "MR"),
    (np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8), "OP"),
    (np.random.default_rng(0).normal(size=(20, 30)).astype(np.float32), "US"),
])
def test_thumbnail_long_side(pixels, modality):
    image = MedImage(pixels, modality=modality)
    mask = np.zeros(image.spatial_shape, np.uint8)
    assert max(thumbnail(image, mask, 96).shape[:2]) == 96


def test_window_choices_merge_image_and_case_presets_without_duplicates():
    image = MedImage(np.zeros((4, 4), np.int16) - 1000, modality="CT", windows=(Window(-600, 1500, "Lung"),))
    names = [w.name for w in window_choices(image, (("Lung", -600.0, 1500.0), ("Bone", 400.0, 1800.0)))]
    assert names == ["auto", "Lung", "Bone"]


def test_legend_colours_are_the_overlay_palette():
    assert label_colour(1) == ("orange", "#E69F00") and label_colour(2) == ("sky blue", "#56B4E9")
    assert label_colour(8)[0] == "white" and label_colour(9) == label_colour(1)

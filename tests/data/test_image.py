import numpy as np
import pytest

from medlearn.data.image import MedImage, Window
from medlearn.errors import MedlearnInputError


def test_grey_2d_defaults():
    img = MedImage(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert img.spatial_dims == 2 and img.spacing == (1.0, 1.0) and not img.is_rgb
    assert img.window.width > 0


def test_colour_picture_is_2d():
    img = MedImage(np.zeros((8, 8, 3), np.uint8) + 7, modality="OP")
    assert img.is_rgb and img.spatial_dims == 2 and img.spatial_shape == (8, 8)
    assert img.windowed().max() <= 1.0


def test_volume_with_three_slices_in_x_is_3d_for_ct():
    img = MedImage(np.zeros((10, 10, 3), np.int16) - 1000, modality="CT", spacing=(2.0, 0.7, 0.7))
    assert img.spatial_dims == 3 and not img.is_rgb


def test_window_maps_to_unit_range():
    img = MedImage(np.array([[-1000, -600, 150]], np.float32), modality="CT", window=Window(-600, 1500))
    out = img.windowed()
    assert out[0, 1] == pytest.approx(0.5) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("bad", [np.array([[np.nan, 1.0]]), np.array([[np.inf, 1.0]])])
def test_non_finite_refused(bad):
    with pytest.raises(MedlearnInputError, match="NaN"):
        MedImage(bad)


def test_spacing_must_match_dims():
    with pytest.raises(MedlearnInputError):
        MedImage(np.zeros((4, 4)), spacing=(1.0, 1.0, 1.0))


def test_describe_is_json_ready():
    import json

    d = MedImage(np.ones((2, 3, 4), np.float32), modality="MR").describe()
    json.dumps(d)
    assert d["shape"] == [2, 3, 4] and d["spatial_dims"] == 3

"""The derived field of view of a fundus photograph."""

import numpy as np
import pytest

from medlearn.data.fov import fov_mask
from medlearn.errors import MedlearnInputError


def _fundus(h=120, w=160, r=50, dark_vessel=True):
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= r * r
    img = np.zeros((h, w, 3), np.uint8)
    img[disc] = (180, 90, 40)
    if dark_vessel:  # a dark vessel crossing the disc must not punch a hole in the field of view
        img[disc & (abs(yy - h / 2) < 2)] = (60, 20, 10)
    return img, disc


def test_the_field_of_view_is_the_disc_without_holes_and_without_the_rim():
    img, disc = _fundus()
    fov = fov_mask(img)
    assert fov.dtype == bool and fov.shape == disc.shape
    assert not (fov & ~disc).any()  # never outside the camera's disc
    assert fov.sum() > 0.9 * disc.sum()  # the vessel is inside
    assert fov[60, 80]


def test_grey_pictures_work_and_uniform_ones_are_refused():
    img, disc = _fundus()
    assert fov_mask(img[..., 0]).sum() > 0.9 * disc.sum()
    with pytest.raises(MedlearnInputError):
        fov_mask(np.full((20, 20, 3), 7, np.uint8))
    with pytest.raises(MedlearnInputError):
        fov_mask(np.zeros((4, 4, 4, 4)))

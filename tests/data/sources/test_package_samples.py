"""Images shipped with scikit-image and pydicom load offline, honestly labelled."""

import socket

import numpy as np
import pytest

from medlearn.data.sources import get_source


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_skimage_retina_samples_load_offline(offline):
    samples = {s.id: s for s in get_source("skimage_samples").load("retina")}
    retina, crop = samples["skimage_retina"], samples["skimage_microaneurysms"]
    assert retina.image.shape == (1411, 1411, 3) and retina.image.is_rgb and retina.label == 0
    assert crop.image.shape == (102, 102) and crop.label is None and "microaneurysms" in crop.meta["note"]
    [ihc] = get_source("skimage_samples").load("gastric")
    assert ihc.image.is_rgb and ihc.label is None and ihc.mask is None and "not H&E" in ihc.meta["note"]


def test_pydicom_ct_is_in_hounsfield_units_offline(offline):
    [ct] = get_source("pydicom_samples").load("lung")
    assert ct.image.modality == "CT" and ct.image.shape == (128, 128)
    assert ct.image.pixels.min() < -500  # air in HU after the rescale
    assert ct.image.spacing == pytest.approx((0.661468, 0.661468))
    assert ct.label is None


def test_every_shipped_image_loads_for_the_viewer(offline):
    samples = get_source("pydicom_samples").load(None)
    assert len(samples) == 5 and {s.image.modality for s in samples} == {"CT", "MR"}
    assert all(np.isfinite(s.image.pixels.astype(float)).all() for s in samples)
    assert len(get_source("skimage_samples").load(None, limit=2)) == 2


def test_package_sources_are_always_available():
    for name in ("skimage_samples", "pydicom_samples"):
        assert get_source(name).availability() == "package" and get_source(name).fetch().endswith("(package)")

"""Tiny DICOM files built with pydicom for the reader tests (no network, no real patients)."""

from __future__ import annotations


import numpy as np
import pytest
from dicom_helpers import SERIES_UID, dicom_bytes  # noqa: F401 (re-exported to the io tests)
from pydicom.uid import (
    BasicTextSRStorage, JPEGLSLossless,
)



@pytest.fixture
def make_dicom():
    """The :func:`dicom_bytes` factory."""
    return dicom_bytes


@pytest.fixture
def sr_dicom() -> bytes:
    """A structured report: a valid DICOM file with no pixels."""
    return dicom_bytes(None, pixel_data=False, sop_class=BasicTextSRStorage, modality="SR")


@pytest.fixture
def jpegls_dicom() -> bytes:
    """A DICOM whose pixels are JPEG-LS compressed (no decoder installed here)."""
    return dicom_bytes(np.zeros((4, 4)), transfer_syntax=JPEGLSLossless)

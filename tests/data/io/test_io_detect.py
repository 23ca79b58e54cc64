"""Format detection by content, and the extension check."""

import numpy as np
import pytest

from medlearn.data.io.detect import expected_format, nifti_version, sniff


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 8, "jpeg"),
        (b"II*\x00" + b"\0" * 8, "tiff"),
        (b"MM\x00*" + b"\0" * 8, "tiff"),
        (b"II*\x00" + b"\0" * 124 + b"DICM", "dicom"),  # a DICOM preamble may look like TIFF
        (b"\0" * 128 + b"DICM", "dicom"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x93NUMPY\x01\x00", "npy"),
        (b"PK\x03\x04", "zip"),
        (b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100", "dicom"),  # no preamble, explicit VR
        (b"hello, this is a text file", None),
        (b"", None),
    ],
)
def test_sniff(head, fmt):
    assert sniff(head) == fmt


def test_nifti_header_sizes():
    h1 = np.int32(348).tobytes() + b"\0" * 340 + b"n+1\0"
    h2 = np.int32(540).tobytes() + b"n+2\0" + b"\0" * 8
    assert nifti_version(h1) == 1 and sniff(h1) == "nifti"
    assert nifti_version(h2) == 2
    assert nifti_version(np.int32(348).tobytes() + b"\0" * 344) is None  # size right, magic wrong


@pytest.mark.parametrize(
    "name, fmt",
    [("a.PNG", "png"), ("b.jpeg", "jpeg"), ("c.tif", "tiff"), ("brain.nii.gz", "nifti"), ("x.nii", "nifti"),
     ("s.dcm", "dicom"), ("m.npz", "npz"), ("series.zip", "zip"), ("IM0001", None), ("notes.txt", None)],
)
def test_expected_format(name, fmt):
    assert expected_format(name) == fmt

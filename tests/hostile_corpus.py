"""A corpus of hostile or odd files, one per class of tracker issue 12, with what MedLearn must
do with each: refuse it with a reason, or read it and say in a note what it chose or corrected.

``write_corpus(folder)`` writes the files (tiny, made here: no downloads) and returns, by class,
an :class:`Expected`. ``tests/test_hostile_corpus.py`` checks the reader, the command line and
the predict core against it; other tests (or a person trying the app) may use the same files.
"""

from __future__ import annotations

import gzip
import io
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from dicom_helpers import dicom_bytes
from PIL import Image
from pydicom.uid import JPEGLSLossless

SIDE = 20
"""In-plane size of the accepted images: above the predict core's smallest (16 pixels)."""

CRAFTED = "![x](evil.png)[click](javascript:alert(1))`tick`back\\slash\u202egnp"
"""A file name stem with Markdown image and link syntax, backticks, a backslash and a
right-to-left override (which would show ``...png`` reversed)."""


@dataclass(frozen=True)
class Expected:
    """What MedLearn must do with one file of the corpus.

    Attributes:
        file: the file's name in the corpus folder.
        refused: a refusal's message holds this text ("" when the file must be read).
        note: an accepted image's reading notes hold this text ("": read, no particular note).
    """

    file: str
    refused: str = ""
    note: str = ""

    @property
    def accepted(self) -> bool:
        return not self.refused


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _ramp(dtype=np.uint8) -> np.ndarray:
    return (np.arange(SIDE * SIDE) % 251).reshape(SIDE, SIDE).astype(dtype)


def _nifti(data: np.ndarray, *, intent: str | None = None, pixdim: dict[int, float] | None = None) -> bytes:
    """A NIfTI-1 file; ``pixdim`` values are written into the header as given (nibabel's
    image would correct a zero or negative voxel size on saving, so the header block is
    replaced after)."""
    img = nib.Nifti1Image(data, np.diag([0.8, 0.9, 2.5, 1.0]))
    if intent:
        img.header.set_intent(intent)
    raw = bytearray(img.to_bytes())
    if pixdim:
        header = nib.Nifti1Header(bytes(raw[:348]), check=False)
        for axis, value in pixdim.items():
            header["pixdim"][axis] = value
        raw[:348] = header.binaryblock
    return bytes(raw)


def _volume() -> np.ndarray:
    """(X, Y, Z) = (SIDE, SIDE, 3) float32."""
    return np.stack([_ramp(np.float32) + 10 * z for z in range(3)], axis=-1)


def zip_bytes(members: list[tuple[str, bytes]], symlink: str | None = None) -> bytes:
    """A zip of ``members`` (a name may come twice: zipfile's warning about it is silenced);
    ``symlink`` adds an entry of that name that is a symbolic link (to ``/etc/passwd``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: made on purpose
        for name, data in members:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz written member by member (``np.savez`` would refuse a key with a slash)."""
    members = []
    for key, arr in arrays.items():
        buf = io.BytesIO()
        np.save(buf, arr)
        members.append((key + ".npy", buf.getvalue()))
    return zip_bytes(members)


def _bad_crc_png() -> bytes:
    data = bytearray(_png(_ramp()))
    data[data.index(b"IDAT") + 8] ^= 0xFF  # one damaged byte of the image data
    return bytes(data)


def _truncated_tiff() -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    return buf.getvalue()[: len(buf.getvalue()) // 2]


def _series(uid: str, slices: int) -> list[tuple[str, bytes]]:
    return [(f"{uid[-1]}_{z}.dcm", dicom_bytes(_ramp(np.int16) + z, position=(0, 0, 2.5 * z), instance=z + 1,
                                               series_uid=uid))
            for z in range(slices)]


def _non_finite() -> np.ndarray:
    arr = _ramp(np.float32)
    arr[0, 0], arr[1, 1], arr[2, 2] = np.nan, np.inf, -np.inf
    return arr


def _table() -> dict[str, tuple[str, bytes | None, dict[str, str]]]:
    """By class: the file name, its bytes (None: written by NumPy) and the expected outcome."""
    grey = _ramp()
    return {
        "crafted-name": (f"{CRAFTED}.png", _png(grey), dict()),
        "crafted-name-refused": (f"{CRAFTED}\nline.png", b"not a picture at all",
                                 dict(refused="wrong extension")),
        "rescale-slope-0": ("slope0.dcm", dicom_bytes(_ramp(np.int16), slope=0),
                            dict(note="RescaleSlope")),
        "monochrome1": ("mono1.dcm", dicom_bytes(_ramp(np.int16), photometric="MONOCHROME1"),
                        dict(note="MONOCHROME1")),
        "voxel-size-zero": ("zero.nii", _nifti(_volume(), pixdim={1: 0.0}),
                            dict(note="zero, negative or not a number")),
        "voxel-size-negative": ("negative.nii", _nifti(_volume(), pixdim={2: -0.9}),
                                dict(note="zero, negative or not a number")),
        "one-pixel": ("one.png", _png(np.zeros((1, 1), np.uint8)), dict(refused="at least 2 pixels")),
        "strip-1x100000": ("strip.png", _png(np.zeros((1, 100_000), np.uint8)),
                           dict(refused="at least 2 pixels")),
        "png-bad-crc": ("crc.png", _bad_crc_png(), dict(refused="fails its checksum")),
        "nan-inf": ("nan.npy", None, dict(note="NaN or infinite")),
        "nifti-5d-vector": ("vectors.nii.gz", gzip.compress(_nifti(np.stack([_volume()] * 3, -1)[:, :, :, None],
                                                                   intent="vector")),
                            dict(note="length (magnitude) of each voxel's vector")),
        "nifti-4d": ("series.nii.gz", gzip.compress(_nifti(np.stack([_volume(), _volume() + 1], -1))),
                     dict(note="showing volume 0 of 2")),
        "zip-traversal": ("traversal.zip", zip_bytes([("../../evil.dcm", b"x")]),
                          dict(refused="points outside the archive")),
        "zip-symlink": ("symlink.zip", zip_bytes([("a.dcm", b"x")], symlink="link.dcm"),
                        dict(refused="symbolic link")),
        "zip-duplicate": ("duplicate.zip", zip_bytes([("a.dcm", b"x"), ("a.dcm", b"y")]), dict(refused="twice")),
        "npz-unexpected-keys": ("keys.npz", _npz({"weights": grey, "bias": grey}),
                                dict(refused="none is clearly the image")),
        "npz-path-keys": ("paths.npz", _npz({"dir/images": grey}), dict(refused="look like paths")),
        "tiff-truncated": ("cut.tif", _truncated_tiff(), dict(refused="truncated")),
        "dicom-unsupported-codec": ("jpegls.dcm", dicom_bytes(np.zeros((4, 4)), transfer_syntax=JPEGLSLossless),
                                    dict(refused="(1.2.840.10008.1.2.4.80): no decoder installed")),
        "grey-in-rgb": ("rgb.png", _png(np.stack([grey] * 3, -1)), dict(note="three equal channels")),
        "zip-two-series": ("two_series.zip", zip_bytes(_series("1.2.3.1", 3) + _series("1.2.3.2", 2)),
                           dict(note="several series were given")),
        "empty": ("empty.dcm", b"", dict(refused="empty")),
        "text-named-dcm": ("notes.dcm", b"Patient notes, not an image.\n" * 20,
                           dict(refused="not a DICOM image")),
    }


def _outcomes(table: dict[str, tuple[str, bytes | None, dict[str, str]]]) -> dict[str, Expected]:
    return {key: Expected(name, **outcome) for key, (name, _, outcome) in table.items()}


def expected() -> dict[str, Expected]:
    """What MedLearn must do with each file of the corpus, by class (nothing written)."""
    return _outcomes(_table())


def write_corpus(folder: Path) -> dict[str, Expected]:
    """Write one file per class of hostile or odd input into ``folder``; returns what MedLearn
    must do with each, by class name."""
    table = _table()
    for name, data, _ in table.values():
        if data is None:  # .npy: written by NumPy itself
            np.save(folder / name, _non_finite())
        else:
            (folder / name).write_bytes(data)
    return _outcomes(table)

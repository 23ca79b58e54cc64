"""Decide a file's format from its first bytes ("magic numbers"), not its name.

Signatures (all from the formats' own specifications):

* PNG ``89 50 4E 47 0D 0A 1A 0A``; JPEG ``FF D8 FF``; TIFF ``II*\\0`` / ``MM\\0*``
  (BigTIFF ``II+\\0`` / ``MM\\0+``);
* DICOM: ``DICM`` after a 128-byte preamble, or (older files with no preamble) a first
  data element of group 0x0002 or 0x0008;
* NIfTI-1: ``sizeof_hdr`` = 348 and magic ``n+1`` at byte 344; NIfTI-2: 540 and ``n+2``
  at byte 4; either may sit inside gzip (``1F 8B``);
* NumPy ``.npy``: ``\\x93NUMPY``; zip (``.npz`` or a zipped DICOM series): ``PK\\x03\\x04``.
"""

from __future__ import annotations

import struct

HEAD_BYTES = 544
"""How many leading bytes :func:`sniff` needs (a NIfTI-2 header is 540)."""

_EXTENSIONS = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".tif": "tiff", ".tiff": "tiff",
    ".npy": "npy", ".npz": "npz", ".nii": "nifti", ".nii.gz": "nifti", ".dcm": "dicom",
    ".dicom": "dicom", ".ima": "dicom", ".zip": "zip",
}
_DICOM_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB", b"OD",
    b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
    b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}


def expected_format(name: str) -> str | None:
    """The format a file name's extension promises (``None`` when it promises nothing)."""
    lower = name.lower()
    if lower.endswith(".nii.gz"):
        return "nifti"
    dot = lower.rfind(".")
    return _EXTENSIONS.get(lower[dot:]) if dot >= 0 else None


def nifti_version(head: bytes) -> int | None:
    """1 or 2 when ``head`` starts an (uncompressed) NIfTI header, else ``None``."""
    if len(head) >= 348:
        for endian in "<>":
            if struct.unpack(endian + "i", head[:4])[0] == 348 and head[344:347] in (b"n+1", b"ni1"):
                return 1
    if len(head) >= 8 and head[4:7] == b"n+2":
        for endian in "<>":
            if struct.unpack(endian + "i", head[:4])[0] == 540:
                return 2
    return None


def _looks_like_bare_dicom(head: bytes) -> bool:
    """A DICOM file written without preamble: starts with tag (0002,xxxx) or (0008,xxxx)."""
    if len(head) < 8:
        return False
    group, element = struct.unpack("<HH", head[:4])
    if group not in (0x0002, 0x0008) or element > 0x1000:
        return False
    if head[4:6] in _DICOM_VRS:  # explicit VR
        return True
    return struct.unpack("<I", head[4:8])[0] < 1024  # implicit VR: a short first value


def sniff(head: bytes) -> str | None:
    """The format of a file from its first :data:`HEAD_BYTES` bytes.

    Returns:
        ``"png"``, ``"jpeg"``, ``"tiff"``, ``"dicom"``, ``"nifti"``, ``"gzip"`` (the
        caller looks inside), ``"npy"``, ``"zip"``, or ``None`` when unknown.
    """
    if head[128:132] == b"DICM":  # first: a DICOM preamble may itself look like TIFF
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if nifti_version(head):
        return "nifti"
    if _looks_like_bare_dicom(head):
        return "dicom"
    return None

"""``read_image``: the one entry point that turns a file (or a series) into a MedImage.

The format is decided by content (see :mod:`medlearn.data.io.detect`); the extension
only serves to warn (``meta["extension_mismatch"]``) or to explain an unreadable file.
Only :class:`~medlearn.errors.MedlearnInputError` ever escapes.
"""

from __future__ import annotations

import gzip
import os
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from medlearn.data.image import MedImage
from medlearn.data.io.archive import member_names, unzip
from medlearn.data.io.detect import HEAD_BYTES, expected_format, nifti_version, sniff
from medlearn.data.io.dicom import read_dicom, read_series
from medlearn.data.io.library_notes import Heard, as_notes, listening
from medlearn.data.io.nifti import read_nifti
from medlearn.data.io.numpy_io import read_npy, read_npz
from medlearn.data.io.raster import read_pillow, read_tiff
from medlearn.data.io.source import Blob, to_blobs
from medlearn.errors import MedlearnError, MedlearnInputError
from medlearn.text import visible

Reader = Callable[[Blob, bytes, int | None], MedImage]

READERS: dict[str, Reader] = {
    "png": lambda b, head, vi: read_pillow(b, "png"),
    "jpeg": lambda b, head, vi: read_pillow(b, "jpeg"),
    "tiff": lambda b, head, vi: read_tiff(b, vi),
    "npy": lambda b, head, vi: read_npy(b, vi),
    "npz": lambda b, head, vi: read_npz(b, vi),
    "nifti": lambda b, head, vi: read_nifti(b, head, False, vi),
    "nifti-gz": lambda b, head, vi: read_nifti(b, head, True, vi),
    "dicom": lambda b, head, vi: read_dicom(b, vi),
    "dicom-zip": lambda b, head, vi: read_series(unzip(b), vi, b.name),
}
"""Content format -> reader(blob, first bytes, volume_index)."""

_SHOWN = {"nifti-gz": "nifti", "dicom-zip": "zip"}

MESSAGE_CHARS = 2000
"""A refusal's message is cut at this length (a file name is at most 255 bytes; the rest is ours)."""

SMALL_FILE_BYTES = 4 * 1024 * 1024
"""A single file up to this size is read into memory at once: the format check and the
reader then share one read, and pydicom, Pillow and nibabel parse a memory buffer
faster than a file (many small reads and seeks)."""


def _content_format(blob: Blob) -> tuple[str | None, bytes]:
    if blob.path is not None and blob.size <= SMALL_FILE_BYTES:
        blob.data()
    head = blob.head(HEAD_BYTES)
    fmt = sniff(head)
    if fmt == "gzip" and blob.path is not None and blob.name.lower().endswith(".nii.gz"):
        fmt = "nifti-gz"  # nibabel reads and checks the header itself (saves a second inflate)
    elif fmt == "gzip":
        try:
            with blob.open() as fh:
                head = gzip.GzipFile(fileobj=fh).read(HEAD_BYTES)
        except (OSError, EOFError) as exc:
            raise MedlearnInputError(f"{blob.name}: the gzip file is damaged or truncated.") from exc
        if not nifti_version(head):
            raise MedlearnInputError(f"{blob.name}: a gzip file, but not a NIfTI image (.nii.gz) inside.")
        fmt = "nifti-gz"
    elif fmt == "zip":
        fmt = "npz" if any(n.endswith(".npy") for n in member_names(blob)) else "dicom-zip"
    return fmt, head


def _unknown(blob: Blob, expected: str | None) -> MedlearnInputError:
    if expected:
        return MedlearnInputError(
            f"{blob.name}: named like a {expected.upper()} file, but its content is not a {expected.upper()} "
            "image (wrong extension, or not an image at all)."
        )
    return MedlearnInputError(
        f"{blob.name}: not an image format MedLearn reads (PNG, JPEG, TIFF, DICOM, NIfTI, NumPy .npy/.npz, "
        "or a zip of DICOM files)."
    )


def _read_one(blob: Blob, volume_index: int | None) -> MedImage:
    fmt, head = _content_format(blob)
    expected = expected_format(blob.name)
    if fmt is None:
        raise _unknown(blob, expected)
    image = READERS[fmt](blob, head, volume_index)
    shown = _SHOWN.get(fmt, fmt)
    if expected and expected != shown:
        image.meta["extension_mismatch"] = f"named as {expected} but the content is {shown}; read as {shown}"
    return image


def _label(source: Any, name: str | None) -> str:
    """How messages name the input (worked out only when needed: it costs a path parse)."""
    if isinstance(source, (str, os.PathLike)):
        return name or Path(source).name
    return name or (f"{len(source)} files" if isinstance(source, list) else "the upload")


def read_image(source: Any, name: str | None = None, *, volume_index: int | None = None,
               modality: str | None = None) -> MedImage:
    """Read a medical image from a path, bytes, an upload, or a DICOM series.

    Args:
        source: a file path (a folder: its files form a series); the file's ``bytes``;
            an upload object with ``getvalue()``; or a list of ``(name, bytes)`` pairs or
            paths forming a DICOM series (a zip of a series may also come as bytes).
        name: file name for ``bytes`` input (messages, extension check, ``source``).
        volume_index: which volume of a 4D NIfTI, item of an npz/npy stack, phase of a
            DICOM cine, or page/frame of a colour stack (default 0).
        modality: override the modality code (pictures default to ``"OT"``).

    Returns:
        A :class:`MedImage`; arrays ``(H, W)``, ``(H, W, 3)`` uint8 or ``(Z, Y, X)``.

    Raises:
        MedlearnInputError: for anything that cannot be read, with a student-friendly message.
    """
    with reading() as heard:
        try:
            blobs = to_blobs(source, name)
        except OSError as exc:
            raise MedlearnInputError(
                f"{_label(source, name)}: the file cannot be opened ({exc.strerror or exc})."
            ) from exc
        image = _read_blobs(blobs, source, name, volume_index)
    image.add_notes(*as_notes(heard))
    return replace(image, modality=modality) if modality else image


@contextmanager
def reading() -> Iterator[list[Heard]]:
    """The frame of every read (``read_image``, ``read_cine``): the libraries' warnings and log
    messages are heard (:mod:`~medlearn.data.io.library_notes`) instead of reaching the terminal,
    and a refusal's message becomes one line of visible characters (a file name may hold line
    breaks or a right-to-left override; the command line prints the message as one line)."""
    try:
        with listening() as heard:
            yield heard
    except MedlearnInputError as exc:
        text = visible(exc, MESSAGE_CHARS)
        if text == str(exc):
            raise
        raise MedlearnInputError(text) from exc


def _read_blobs(blobs: list[Blob], source: Any, name: str | None, volume_index: int | None) -> MedImage:
    """One file, or a series; every failure as a :class:`MedlearnInputError` naming the input."""
    try:
        if len(blobs) == 1:
            return _read_one(blobs[0], volume_index)
        return read_series(blobs, volume_index, _label(source, name))
    except MedlearnInputError as exc:
        label = _label(source, name)
        if str(exc).startswith(tuple(b.name for b in blobs) + (label,)):
            raise
        raise MedlearnInputError(f"{blobs[0].name if len(blobs) == 1 else label}: {exc}") from exc
    except MedlearnError:
        raise
    except MemoryError as exc:
        raise MedlearnInputError(
            f"{_label(source, name)}: the image is too large for this computer's memory."
        ) from exc
    except Exception as exc:  # any library failure on a bad file becomes one clear message
        raise MedlearnInputError(
            f"{_label(source, name)}: the file could not be read; it looks damaged or truncated "
            f"({type(exc).__name__})."
        ) from exc

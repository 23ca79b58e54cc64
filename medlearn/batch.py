"""Many images in one go: what in a folder or a zip is one image, and what is several.

``python -m medlearn predict CASE FOLDER|ZIP`` scores a folder (or zip) of separate
pictures file by file, but a folder that holds one DICOM series is one volume, as
:func:`medlearn.data.io.read_image` reads it. The rule, on the folder's visible files
(not its sub-folders) or the zip's members:

* every file is DICOM and all share one ``SeriesInstanceUID`` (or none has one): one
  image, the series (:func:`batch_inputs` returns None: read the path as one image);
* otherwise one input per picture file (PNG, JPEG, TIFF, NIfTI, NumPy, a single DICOM
  file...) and one per DICOM series (files of the same series stay together, so a study
  of two series gives two volumes); a file that is no image is an input too, whose
  reading fails with the reader's message (the caller reports it and goes on).

The format is told by content (:func:`medlearn.data.io.detect.sniff`), as the readers
tell it; reading happens only when an input's :meth:`BatchInput.read` is called.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medlearn.errors import MedlearnInputError


@dataclass
class BatchInput:
    """One image of a batch: a file, or the files of one DICOM series.

    Attributes:
        name: the file name (a series: its first file's name and how many files it has).
        files: the file names (one, or the series' files in the order found).
        source: what :func:`medlearn.data.io.read_image` reads: a path, a zip member
            (blob), or a list of those (a series).
    """

    name: str
    files: list[str]
    source: Any = field(repr=False)

    def read(self):
        """The image (:class:`~medlearn.data.image.MedImage`); ``MedlearnInputError`` if unreadable."""
        from medlearn.data.io import read_image

        return read_image(self.source)


def batch_inputs(path: str | os.PathLike) -> list[BatchInput] | None:
    """The inputs a folder or zip holds, or None when ``path`` is one image.

    One image: a file that is not a zip, a zip of NumPy arrays (``.npz``), or a folder /
    zip whose files all belong to one DICOM series (see module doc).

    Raises:
        MedlearnInputError: no such path, an empty folder, or a damaged zip.
    """
    from medlearn.data.io.source import to_blobs

    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise MedlearnInputError(f"No file or folder at {str(path)!r}: check the path.") from None
    except OSError as exc:
        raise MedlearnInputError(f"{p.name}: cannot be opened ({exc.strerror or exc}).") from None
    if stat.S_ISDIR(mode):
        try:
            blobs = to_blobs(p)  # every visible file, sorted by name; limits checked
        except OSError as exc:
            raise MedlearnInputError(f"{p.name}: the folder cannot be read ({exc.strerror or exc}).") \
                from None
        sources = [b.path for b in blobs]
    else:
        blobs = _zip_members(p)
        if blobs is None:
            return None
        sources = blobs
    kinds = [_kind(b) for b in blobs]
    if all(k is not None and k[0] == "dicom" for k in kinds) and len({k[1] for k in kinds}) == 1:
        return None  # one DICOM series: read_image(path) stacks it, as before
    inputs: list[BatchInput] = []
    series: dict[str, BatchInput] = {}
    for blob, src, kind in zip(blobs, sources, kinds):
        if kind is not None and kind[0] == "dicom" and kind[1] is not None:
            found = series.get(kind[1])
            if found is not None:
                found.files.append(blob.name)
                found.source.append(src)
                found.name = f"{found.files[0]} (+{len(found.files) - 1} files of its series)"
                continue
            series[kind[1]] = item = BatchInput(blob.name, [blob.name], [src])
        else:
            item = BatchInput(blob.name, [blob.name], src)
        inputs.append(item)
    for item in inputs:
        if isinstance(item.source, list) and len(item.source) == 1:
            item.source = item.source[0]
    return inputs


def _zip_members(path: Path):
    """The members of a zip of images (blobs), or None for a file that is one image."""
    from medlearn.data.io.archive import member_names, unzip
    from medlearn.data.io.detect import HEAD_BYTES, sniff
    from medlearn.data.io.source import Blob

    try:
        blob = Blob(path.name, path=path)
        if sniff(blob.head(HEAD_BYTES)) != "zip":
            return None
    except OSError:
        return None  # read_image reports it
    if any(n.endswith(".npy") for n in member_names(blob)):
        return None  # an .npz: one array file
    return unzip(blob)


def _kind(blob) -> tuple[str, str | None] | None:
    """``("dicom", series uid or None)``, ``(format, None)``, or None when unknown/unreadable."""
    from medlearn.data.io.detect import HEAD_BYTES, sniff

    try:
        fmt = sniff(blob.head(HEAD_BYTES))
    except OSError:
        return None
    if fmt != "dicom":
        return None if fmt is None else (fmt, None)
    return "dicom", _series_uid(blob)


def _series_uid(blob) -> str | None:
    """The file's SeriesInstanceUID (header only), or None when it has none or is unreadable."""
    import pydicom

    try:
        with blob.open() as fh:
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=True, specific_tags=["SeriesInstanceUID"])
        uid = ds.get("SeriesInstanceUID")
    except Exception:  # a damaged header: the file's own read reports it
        return None
    return str(uid) if uid else None

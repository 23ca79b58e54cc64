"""What a user can hand to :func:`read_image`, normalised to :class:`Blob` objects.

A blob is one file, held either as a path (read lazily, so nibabel and pydicom can read
from disk without an extra copy) or as bytes (an upload). Sizes are checked here, before
anything is read.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from medlearn.data.io.limits import check_bytes
from medlearn.errors import MedlearnInputError


@dataclass
class Blob:
    """One file: a name plus either a path on disk or its bytes."""

    name: str
    path: Path | None = None
    raw: bytes | None = field(default=None, repr=False)
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.raw) if self.raw is not None else self.path.stat().st_size
        check_bytes(self.size, self.name)

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer when the file is shorter)."""
        if self.raw is not None:
            return bytes(self.raw[:n])
        with open(self.path, "rb") as fh:
            return fh.read(n)

    def data(self) -> bytes:
        """The whole content (read from disk once, then kept)."""
        if self.raw is None:
            self.raw = self.path.read_bytes()
        return self.raw

    def open(self) -> BinaryIO:
        """A binary file object over the content."""
        return io.BytesIO(self.raw) if self.raw is not None else open(self.path, "rb")


def _as_bytes(data: Any) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def _from_path(path: Path) -> list[Blob]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MedlearnInputError(f"No file at {str(path)!r}: check the path.") from None
    if stat.S_ISDIR(st.st_mode):
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise MedlearnInputError(f"The folder {path.name!r} holds no files.")
        return [Blob(p.name, path=p) for p in files]
    if not stat.S_ISREG(st.st_mode):
        raise MedlearnInputError(f"{str(path)!r} is not a regular file.")
    return [Blob(path.name, path=path, size=st.st_size)]


def _is_pair(item: Any) -> bool:
    return (
        isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
        and isinstance(item[1], (bytes, bytearray, memoryview))
    )


def _one(item: Any, name: str | None) -> list[Blob]:
    if isinstance(item, (str, os.PathLike)):
        return _from_path(Path(item))
    if isinstance(item, (bytes, bytearray, memoryview)):
        return [Blob(name or "upload", raw=_as_bytes(item))]
    if isinstance(item, Blob):
        return [item]
    if hasattr(item, "getvalue"):  # an upload object (e.g. a web upload, io.BytesIO)
        return [Blob(name or getattr(item, "name", None) or "upload", raw=_as_bytes(item.getvalue()))]
    if _is_pair(item):
        return _one(item[1], item[0])
    raise MedlearnInputError(
        f"Cannot read an image from a {type(item).__name__}: give a file path, the file's bytes, "
        "or a list of (name, bytes) pairs for a DICOM series."
    )


def to_blobs(source: Any, name: str | None = None) -> list[Blob]:
    """Normalise a path, bytes, upload object or list of files into blobs.

    Args:
        source: a path (a folder means every visible file in it), ``bytes`` (then
            ``name`` tells the file name), an object with ``getvalue()`` and ``name``, or a
            list of ``(name, bytes)`` pairs / paths forming a DICOM series.
        name: the file name for ``bytes`` input (used for messages and the extension).

    Returns:
        One blob for a single file, several for a series.
    """
    if isinstance(source, (list, tuple)) and not _is_pair(source):
        if not source:
            raise MedlearnInputError("No files were given: choose at least one image file.")
        return [blob for item in source for blob in _one(item, None)]
    return _one(source, name)

"""Unpacking a zip archive (a zipped DICOM series) without falling for a zip bomb.

The central directory announces each member's uncompressed size; the limits are
checked on those numbers first, and each member is then read with a cap one byte
past its announced size, so a lying directory is caught too.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import PurePosixPath

from medlearn.data.io.limits import MAX_UNPACKED_BYTES, MAX_ZIP_MEMBERS, MAX_ZIP_RATIO, mib
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError
from medlearn.text import visible


def member_names(blob: Blob) -> list[str]:
    """Names of the files inside a zip (folders and hidden files left out)."""
    try:
        with zipfile.ZipFile(blob.open()) as zf:
            return [i.filename for i in _members(zf)]
    except zipfile.BadZipFile as exc:
        raise MedlearnInputError(f"{blob.name}: the zip archive is damaged or truncated ({exc}).") from exc


def _members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    def visible(info: zipfile.ZipInfo) -> bool:
        parts = PurePosixPath(info.filename).parts
        return not info.is_dir() and not any(p.startswith(".") or p == "__MACOSX" for p in parts)

    return [i for i in zf.infolist() if visible(i) and i.file_size > 0]


def check_entries(zf: zipfile.ZipFile, name: str) -> None:
    """Refuse an archive with entries that climb out of it (``../``, absolute paths), symbolic
    links, or the same path twice: unpacked anywhere, such an archive writes where it should
    not, and a doubled name leaves which file is meant to chance."""
    seen: set[str] = set()
    for info in zf.infolist():
        path = info.filename.replace("\\", "/")
        parts = PurePosixPath(path).parts
        if path.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise MedlearnInputError(f"{name}: the zip entry {visible(info.filename)!r} points outside the "
                                     "archive (an absolute path or '..'): refusing the archive.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise MedlearnInputError(f"{name}: the zip entry {visible(info.filename)!r} is a symbolic link: "
                                     "refusing the archive (zip the files themselves).")
        if path in seen:
            raise MedlearnInputError(f"{name}: the zip holds {visible(info.filename)!r} twice: refusing the "
                                     "archive, as which copy is meant cannot be told.")
        seen.add(path)


def _check(infos: list[zipfile.ZipInfo], name: str) -> None:
    if len(infos) > MAX_ZIP_MEMBERS:
        raise MedlearnInputError(f"{name}: the zip holds {len(infos)} files, more than {MAX_ZIP_MEMBERS}.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise MedlearnInputError(
            f"{name}: the zip would unpack to {mib(total)}, more than the {mib(MAX_UNPACKED_BYTES)} MedLearn "
            "accepts (possibly a zip bomb)."
        )
    for i in infos:
        if i.file_size > 2**20 and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise MedlearnInputError(
                f"{name}: {i.filename!r} is compressed {i.file_size // max(i.compress_size, 1)}-fold, "
                "far more than medical images compress: refusing a possible zip bomb."
            )


def unzip(blob: Blob) -> list[Blob]:
    """The files inside a zip archive as blobs, after the zip-bomb checks."""
    try:
        with zipfile.ZipFile(blob.open()) as zf:
            check_entries(zf, blob.name)
            infos = _members(zf)
            _check(infos, blob.name)
            out = []
            for info in infos:
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise MedlearnInputError(f"{blob.name}: {info.filename!r} is not the size the zip claims.")
                out.append(Blob(PurePosixPath(info.filename).name, raw=data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise MedlearnInputError(f"{blob.name}: the zip archive cannot be unpacked ({exc}).") from exc
    if not out:
        raise MedlearnInputError(f"{blob.name}: the zip archive is empty.")
    return out

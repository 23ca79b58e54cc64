"""Safe archive extraction for downloaded datasets (zip and tar, nested ones too).

Why not ``monai.apps.utils.extractall``: importing ``monai.apps`` costs 5-10 s on a
small CPU (it imports every MONAI dataset class), and the download is already
checksum-verified by :mod:`download`. The standard library does the work: tar members
go through the ``"data"`` filter (no absolute paths, no ``..``, no device files) and
``zipfile`` strips such paths itself.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

from medlearn.errors import DatasetUnavailableError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
UNSUPPORTED = (".rar", ".7z")


def extract(archive: Path, target: Path) -> None:
    """Unpack a zip or tar archive into ``target``; a damaged archive is a clear error."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
        else:
            raise DatasetUnavailableError(
                f"{archive.name} is not a zip or tar archive; delete it and try again."
            )
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise DatasetUnavailableError(
            f"{archive.name} is damaged ({exc}); delete it and download again."
        ) from None


def extract_nested(archive: Path, target: Path, dataset: str) -> None:
    """Unpack ``archive``, then any zip/tar found inside (deleting each after use).

    Raises:
        DatasetUnavailableError: an inner ``.rar``/``.7z`` Python cannot read; the
            message says how to unpack it by hand and import the folder.
    """
    extract(archive, target)
    for inner in sorted(target.rglob("*")):
        if inner == archive or not inner.is_file():
            continue
        name = inner.name.lower()
        if name.endswith(UNSUPPORTED):
            raise DatasetUnavailableError(
                f"{dataset} came as {inner.name}, which Python cannot unpack. Unpack it with 7-Zip or "
                f"unrar, then run: python -m medlearn fetch {dataset} --from DIR"
            )
        if name.endswith((".zip", *TAR_SUFFIXES)):
            extract(inner, inner.parent)
            inner.unlink()

"""Where MedLearn keeps data: the data home and the optional read-only mirror.

* The **data home** holds downloads, imported folders, runs and checkpoints. It is
  ``$MEDLEARN_HOME`` when set, else ``$XDG_CACHE_HOME/medlearn``, else
  ``~/.cache/medlearn``. Nothing is created at import time; callers ask for a folder
  with :func:`ensure_dir` when they are about to write.
* The **mirror** (``$MEDLEARN_MIRROR``) is a local copy of small public datasets in
  their original layouts (see ``/work/shared/data/README.md`` for the one used in CI).
  Sources look there after the data home and before the network.
* Its **databases** (the run store, the reader study): by default SQLite files in the data
  home (:func:`connect`: a connection that waits up to 30 s for a busy file), or the one
  database that ``$MEDLEARN_DATABASE_URL`` names (:func:`database_target`); both open
  through :func:`medlearn.data.database.open_database`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from medlearn.errors import DatasetUnavailableError

HOME_ENV = "MEDLEARN_HOME"
MIRROR_ENV = "MEDLEARN_MIRROR"
DATABASE_URL_ENV = "MEDLEARN_DATABASE_URL"
SQLITE_BUSY_S = 30.0  # a connection waits this long for another writer of an SQLite file


def data_home() -> Path:
    """The data home folder (may not exist yet)."""
    explicit = os.environ.get(HOME_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "medlearn"


def datasets_dir() -> Path:
    """``<data home>/datasets``: one sub-folder per dataset source."""
    return data_home() / "datasets"


def dataset_dir(name: str) -> Path:
    """The folder where the dataset source ``name`` keeps its files (may not exist)."""
    return datasets_dir() / name


def mirror_root() -> Path | None:
    """The mirror folder, or None when ``MEDLEARN_MIRROR`` is unset or missing."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def mirror_path(relative: str) -> Path | None:
    """``<mirror>/<relative>`` when the mirror is set and holds that folder."""
    root = mirror_root()
    if root is None or not relative:
        return None
    path = root / relative
    return path if path.exists() else None


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents); a student-readable error when that is impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetUnavailableError(
            f"Cannot create the folder {path} ({exc.strerror or exc}). "
            f"Set {HOME_ENV} to a folder you can write to."
        ) from None
    return path


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to one of the data home's SQLite files, waiting up to 30 s when it is busy."""
    return sqlite3.connect(path, timeout=SQLITE_BUSY_S)


def database_target(file_name: str) -> str | Path:
    """Where a store opens by default: ``$MEDLEARN_DATABASE_URL`` when set, else the SQLite file
    ``file_name`` in the data home (see :mod:`medlearn.data.database`)."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or data_home() / file_name

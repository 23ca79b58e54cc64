"""Base for datasets that live in a folder: imported by the user, downloaded, or mirrored.

Where a source looks, in order: a folder given to the constructor, the data home
(``<home>/datasets/<name>``, filled by ``fetch NAME --from DIR`` or by a download),
then the mirror (``$MEDLEARN_MIRROR/<mirror_subpath>``). Subclasses say what their
layout looks like (:meth:`looks_right`) and how to read it (``_load``); a layout may
sit one or two folders down (archives often add ``Dataset_X/``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from medlearn.data import home
from medlearn.data.sources.base import DatasetSource, Progress
from medlearn.errors import DatasetUnavailableError, MedlearnInputError


class LocalDatasetSource(DatasetSource):
    """A dataset read from a folder; ``fetch(from_dir=DIR)`` imports a copy of DIR."""

    kind = "folder"
    mirror_subpath: str = ""
    how_to_get: str = ""

    def __init__(self, root: str | Path | None = None) -> None:
        self.fixed_root = Path(root).expanduser() if root is not None else None

    def looks_right(self, folder: Path) -> bool:
        """True when ``folder`` holds this dataset's layout (subclass hook)."""
        raise NotImplementedError

    def find_layout(self, folder: Path | None) -> Path | None:
        """``folder`` itself or a sub-folder (two levels at most) that holds the layout."""
        if folder is None or not folder.is_dir():
            return None
        level = [folder]
        for _ in range(3):
            for candidate in level:
                if self.looks_right(candidate):
                    return candidate
            level = [c for f in level for c in sorted(f.iterdir())
                     if c.is_dir() and not c.name.startswith(".")]
        return None

    def locations(self) -> list[tuple[str, Path | None]]:
        if self.fixed_root is not None:
            return [("folder", self.fixed_root)]
        return [("data home", home.dataset_dir(self.name)), ("mirror", home.mirror_path(self.mirror_subpath))]

    def locate(self) -> tuple[str, Path] | None:
        """``(where, folder)`` of the first location holding the layout, or None."""
        for where, folder in self.locations():
            found = self.find_layout(folder)
            if found is not None:
                return where, found
        return None

    def availability(self) -> str:
        found = self.locate()
        return found[0] if found else ""

    def root(self) -> Path:
        """The dataset folder, or :class:`DatasetUnavailableError` saying how to get it."""
        found = self.locate()
        if found is None:
            raise DatasetUnavailableError(
                f"The {self.title} dataset is not on this machine. {self.how_to_get} "
                f"Then run: python -m medlearn fetch {self.name} --from DIR"
            )
        return found[1]

    def fetch(self, progress: Progress | None = None, from_dir: str | Path | None = None,
              **options: Any) -> str:
        """Import ``from_dir`` into the data home (a copy), or check what is already here."""
        if options:
            raise MedlearnInputError(f"The {self.title} source does not take {', '.join(options)}.")
        if from_dir is None:
            self.root()  # raises with instructions when absent
            return self.status()
        found = self.find_layout(Path(from_dir).expanduser())
        if found is None:
            raise MedlearnInputError(
                f"{from_dir} does not look like the {self.title} dataset. {self.layout_help()}"
            )
        target = home.ensure_dir(home.dataset_dir(self.name))
        copy_tree(found, target, progress)
        return f"{self.name}: imported {found} into {target}"

    def layout_help(self) -> str:
        """What a valid folder must contain (subclasses describe their layout)."""
        return self.description


def copy_tree(src: Path, dest: Path, progress: Progress | None = None, only: str | None = None) -> None:
    """Copy every file under ``src`` (or just the one named ``only``) into ``dest``, reporting bytes."""
    if src.resolve() == dest.resolve():
        return
    files = [src / only] if only else [p for p in sorted(src.rglob("*")) if p.is_file()]
    total, done = sum(p.stat().st_size for p in files), 0
    for path in files:
        out = dest / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
        done += path.stat().st_size
        if progress is not None:
            progress(done, total)

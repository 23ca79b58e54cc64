"""GasHisSDB, gastric histopathology sub-size images (Hu et al. 2022).

245,196 H&E tiles at 160, 120 and 80 px in two classes, Normal and Abnormal, laid out
as ``<size>/Normal/*.png`` and ``<size>/Abnormal/*.png`` (a folder holding ``Normal/``
and ``Abnormal/`` directly is read as one size too). Downloaded on request as the
figshare article archive (DOI 10.6084/m9.figshare.15066147), or imported with
``fetch gashissdb --from DIR``. The publishers give no checksum, so a download is
verified by structure instead: it must unpack to that layout with both classes
present (the counts found are reported). An inner archive that Python cannot unpack
(.rar, .7z) is reported with instructions to unpack it by hand.

The tiles carry tile-level labels only: for the gastric case (classes background,
tumour) Abnormal -> 1 and Normal -> 0, with no mask (``meta["weak_label"]``). No
patient ids are published, so the split is by file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medlearn.data import home
from medlearn.data.sources._read import read
from medlearn.data.sources.archives import extract_nested
from medlearn.data.sources.base import Progress, Sample, register_source
from medlearn.data.sources.download import download
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select
from medlearn.errors import DatasetUnavailableError, MedlearnInputError

ARCHIVE_URL = "https://figshare.com/ndownloader/articles/15066147/versions/1"
CLASSES = {"Normal": 0, "Abnormal": 1}
SIZES = (160, 120, 80)


def _has_classes(folder: Path) -> bool:
    return all((folder / c).is_dir() for c in CLASSES)


class GasHisSdbSource(LocalDatasetSource):
    name = "gashissdb"
    title = "GasHisSDB gastric H&E tiles"
    cases = ("gastric",)
    kind = "download"
    licence = "free for research use (see the figshare record)"
    citation = ("Hu W. et al. GasHisSDB: a new gastric histopathology image dataset for computer aided "
                "diagnosis of gastric cancer. Comput Biol Med 142:105207 (2022).")
    url = "https://doi.org/10.6084/m9.figshare.15066147"
    description = "245,196 gastric H&E tiles (160/120/80 px), Normal vs Abnormal; tile labels, no masks."
    mirror_subpath = "gastric_pathology/gashissdb"
    how_to_get = ("Run `python -m medlearn fetch gashissdb` (several GB) or download it from figshare "
                  "and unpack it.")

    def looks_right(self, folder: Path) -> bool:
        return _has_classes(folder) or any(_has_classes(folder / str(s)) for s in SIZES)

    def layout_help(self) -> str:
        return "Expected 160/, 120/, 80/ folders (or one of them) holding Normal/ and Abnormal/ PNG tiles."

    def size_folders(self, root: Path) -> dict[int, Path]:
        """``{tile size: folder}`` for the sizes present (a bare Normal/Abnormal pair counts as 0)."""
        found = {s: root / str(s) for s in SIZES if _has_classes(root / str(s))}
        return found or ({0: root} if _has_classes(root) else {})

    def counts(self, root: Path) -> dict[str, int]:
        """Number of tiles per size and class (the structural check of a download)."""
        return {f"{s}/{c}": sum(1 for _ in (f / c).glob("*.png"))
                for s, f in self.size_folders(root).items() for c in CLASSES}

    def fetch(self, progress: Progress | None = None, from_dir: str | Path | None = None,
              **options: Any) -> str:
        if from_dir is not None or options or self.locate() is not None:
            return super().fetch(progress, from_dir=from_dir, **options)
        target = home.ensure_dir(home.dataset_dir(self.name))
        archive = download(ARCHIVE_URL, target / "gashissdb_figshare.zip", progress=progress, timeout=20.0)
        extract_nested(archive, target, self.name)
        found = self.find_layout(target)
        counts = self.counts(found) if found else {}
        if not counts or not all(counts.values()):
            raise DatasetUnavailableError(
                f"The GasHisSDB download in {target} did not unpack to Normal/ and Abnormal/ tile folders "
                f"(found {counts or 'nothing'}). Unpack it by hand and run: "
                f"python -m medlearn fetch gashissdb --from DIR"
            )
        archive.unlink(missing_ok=True)
        return f"{self.name}: downloaded ({', '.join(f'{k}: {v}' for k, v in counts.items())})"

    def _load(self, case: str, split: str, limit: int | None, size: int | None = None,
              **options: Any) -> list[Sample]:
        if options:
            raise MedlearnInputError(f"{self.title} takes only a size option (got {', '.join(options)}).")
        folders = self.size_folders(self.root())
        if size is not None and size not in folders:
            raise MedlearnInputError(f"GasHisSDB here has tile sizes {sorted(folders)}, not {size!r}.")
        chosen = size if size is not None else max(folders)
        tiles = [(c, p) for c in CLASSES for p in sorted((folders[chosen] / c).glob("*.png"))]
        tiles = select(tiles, split, group=lambda t: t[1].name, limit=limit,
                       key=lambda t: f"{t[0]}/{t[1].name}")
        return [self._sample(c, p, chosen) for c, p in tiles]

    def _sample(self, cls: str, path: Path, size: int) -> Sample:
        image = read(path, modality="SM", source=f"gashissdb/{size}/{cls}/{path.name}")
        meta = {"class": cls, "tile_size": size, "weak_label": True,
                "note": "tile-level label (Abnormal = tumour present); no pixel mask."}
        return Sample(f"{size}_{cls}_{path.stem}", image, CLASSES[cls], None, meta)


SOURCE = register_source(GasHisSdbSource())

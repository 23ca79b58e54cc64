"""Medical Segmentation Decathlon Task04_Hippocampus (Antonelli et al. 2022).

Downloaded on request from the address and MD5 in MONAI's own resource table
(``monai.apps.DecathlonDataset.resource`` / ``.md5``, read at fetch time, not copied)
with our resumable downloader, unpacked by :mod:`archives`; or imported with
``--from DIR``; or found in the mirror. Layout: ``imagesTr/hippocampus_NNN.nii.gz`` and the label volume of
the same name in ``labelsTr/`` (0 background, 1 anterior/head, 2 posterior/body+tail;
some files store labels as float: cast to integers). The macOS ``._*`` files inside the
archive are skipped. Only the 260 training volumes have labels, so the split is by
volume (see :mod:`splits`); the Decathlon's own test set has no labels and is not used.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from medlearn.data import home
from medlearn.data.sources._read import read, read_mask
from medlearn.data.sources.archives import extract
from medlearn.data.sources.base import Progress, Sample, register_source
from medlearn.data.sources.download import RemoteFile
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select

TASK = "Task04_Hippocampus"
APPROX_MB = 27
"""About how big the Task04 archive is."""


@functools.lru_cache(maxsize=1)
def resource() -> tuple[str, str]:
    """``(url, md5)`` of the Task04 archive from MONAI's ``DecathlonDataset`` table.

    The two class attributes are read from ``monai/apps/datasets.py`` with ``ast``
    (importing ``monai.apps`` takes 5-10 s on a small CPU); if that file's shape ever
    changes, the class is imported instead. Read once per process (the page asks on each rerun).
    """
    spec = importlib.util.find_spec("monai")
    path = Path(spec.origin).parent / "apps" / "datasets.py" if spec and spec.origin else None
    if path is not None and path.is_file():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name == "DecathlonDataset":
                table = {t.id: ast.literal_eval(n.value) for n in node.body if isinstance(n, ast.Assign)
                         for t in n.targets if isinstance(t, ast.Name) and t.id in ("resource", "md5")}
                if TASK in table.get("resource", {}) and TASK in table.get("md5", {}):
                    return table["resource"][TASK], table["md5"][TASK]
    from monai.apps import DecathlonDataset

    return DecathlonDataset.resource[TASK], DecathlonDataset.md5[TASK]


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.nii*") if not p.name.startswith("."))


class DecathlonHippocampusSource(LocalDatasetSource):
    name = "msd_hippocampus"
    title = "MSD Task04 hippocampus MRI"
    cases = ("hippocampus",)
    kind = "download"
    licence = "CC BY-SA 4.0"
    citation = "Antonelli M. et al. The Medical Segmentation Decathlon. Nat Commun 13:4128 (2022)."
    url = "http://medicaldecathlon.com/"
    description = ("260 cropped T1 MRI volumes (~35x51x35 voxels, 1 mm) with anterior/posterior "
                   "hippocampus labels.")
    mirror_subpath = "hippocampus_mri/msd_task04"
    how_to_get = (f"Run `python -m medlearn fetch msd_hippocampus` to download it (about {APPROX_MB} MB), "
                  f"or get {TASK}.tar from medicaldecathlon.com.")

    def looks_right(self, folder: Path) -> bool:
        images, labels = folder / "imagesTr", folder / "labelsTr"
        return images.is_dir() and labels.is_dir() and bool(_visible(images))

    def layout_help(self) -> str:
        return "Expected imagesTr/ and labelsTr/ holding hippocampus_NNN.nii.gz files."

    def fetch(self, progress: Progress | None = None, from_dir: str | Path | None = None,
              **options: Any) -> str:
        if from_dir is not None or options or self.locate() is not None:
            return super().fetch(progress, from_dir=from_dir, **options)
        archive = self.remote_file().fetch(progress)
        extract(archive, archive.parent)  # already MD5-verified by download()
        archive.unlink(missing_ok=True)
        return self.status()

    def remote_file(self) -> RemoteFile:
        """The Task04 archive (address and MD5 from MONAI's table), unpacked into the data home."""
        url, md5 = resource()
        return RemoteFile(url, md5, home.dataset_dir(self.name) / f"{TASK}.tar", APPROX_MB)

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        root = self.root()
        images = [p for p in _visible(root / "imagesTr") if (root / "labelsTr" / p.name).is_file()]
        images = select(images, split, group=lambda p: p.name.split(".")[0], limit=limit)
        return [self._sample(root, p) for p in images]

    def _sample(self, root: Path, path: Path) -> Sample:
        image = read(path, modality="MR", source=f"{TASK}/{path.name}")
        mask = read_mask(root / "labelsTr" / path.name).astype(np.uint8)
        meta = {"dataset": TASK, "voxel_volume_mm3": float(np.prod(image.spacing))}
        return Sample(path.name.split(".")[0], image, None, mask, meta)


SOURCE = register_source(DecathlonHippocampusSource())

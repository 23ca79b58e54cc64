"""BUSI, Breast Ultrasound Images (Al-Dhabyani et al. 2020), imported from a folder.

Two layouts are read:

* the original release ``Dataset_BUSI_with_GT/{benign,malignant,normal}/``, where
  ``benign (1).png`` has its lesion mask in ``benign (1)_mask.png`` and further lesions
  in ``benign (1)_mask_1.png``... (all masks are united);
* the mirror's ``images/``, ``masks/`` and ``labels.csv`` (columns image, mask, label).

Labels follow the breast case (``("benign or normal", "malignant")``): normal and
benign -> 0, malignant -> 1; the original class stays in ``meta["class"]``. Masks are
lesion maps (1 = lesion, empty for normal images). BUSI publishes no split and no
patient ids, so the split is by image (see :mod:`splits`).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
from skimage.transform import resize

from medlearn.data.sources._read import read, read_mask
from medlearn.data.sources.base import Sample, register_source
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select

CLASSES = {"normal": 0, "benign": 0, "malignant": 1}
_NUMBER = re.compile(r"\((\d+)\)")


def _order(stem: str) -> tuple[str, int]:
    found = _NUMBER.search(stem)
    return stem.split(" ")[0].lower(), int(found.group(1)) if found else 0


class BusiSource(LocalDatasetSource):
    name = "busi"
    title = "BUSI breast ultrasound"
    cases = ("breast",)
    licence = "CC0 as commonly re-hosted; check the authors' terms before redistribution"
    citation = "Al-Dhabyani W. et al. Dataset of breast ultrasound images. Data in Brief 28:104863 (2020)."
    url = "https://scholar.cu.edu.eg/?q=afahmy/pages/dataset"
    description = "780 ultrasound images (437 benign, 210 malignant, 133 normal) with lesion masks."
    mirror_subpath = "breast_ultrasound/busi"
    how_to_get = "Download Dataset_BUSI_with_GT from the authors' page (see `datasets`) and unzip it."

    def looks_right(self, folder: Path) -> bool:
        if (folder / "labels.csv").is_file() and (folder / "images").is_dir():
            return True
        return any((folder / c).is_dir() and any((folder / c).glob(f"{c} (*).png")) for c in CLASSES)

    def layout_help(self) -> str:
        return ("Expected benign/, malignant/, normal/ with 'xxx_mask.png' files, "
                "or images/, masks/ and labels.csv.")

    def entries(self, root: Path) -> list[tuple[str, str, Path, list[Path]]]:
        """``(id, class, image path, mask paths)`` for every image, in a stable order."""
        if (root / "labels.csv").is_file():
            with open(root / "labels.csv", newline="") as fh:
                rows = [(Path(r["image"]).stem, r["label"].strip().lower(), root / r["image"],
                         [root / r["mask"]] if r.get("mask") else []) for r in csv.DictReader(fh)]
        else:
            rows = []
            for cls in CLASSES:
                for image in (root / cls).glob("*.png"):
                    if "_mask" not in image.stem:
                        masks = sorted(image.parent.glob(f"{glob_escape(image.stem)}_mask*.png"))
                        rows.append((image.stem, cls, image, masks))
        return sorted((r for r in rows if r[1] in CLASSES), key=lambda r: _order(r[0]))

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        rows = select(self.entries(self.root()), split, group=lambda r: r[0], limit=limit, key=lambda r: r[0])
        return [self._sample(*row) for row in rows]

    def _sample(self, stem: str, cls: str, image_path: Path, mask_paths: list[Path]) -> Sample:
        image = read(image_path, modality="US", source=f"busi/{image_path.name}")
        mask = np.zeros(image.spatial_shape, np.uint8)
        meta: dict[str, Any] = {"class": cls}
        for path in mask_paths:
            lesion = read_mask(path) > 0
            if lesion.shape != mask.shape:  # a few released masks differ in size: resize, say so
                lesion = resize(lesion, mask.shape, order=0, preserve_range=True, anti_aliasing=False) > 0
                meta["mask_resized"] = True
            mask |= lesion.astype(np.uint8)
        meta["lesion_pixels"] = int(mask.sum())
        return Sample(stem, image, CLASSES[cls], mask, meta)


def glob_escape(text: str) -> str:
    """Escape ``[`` ``]`` ``*`` ``?`` for :meth:`Path.glob` (BUSI names hold brackets)."""
    return re.sub(r"([\[\]*?])", r"[\1]", text)


SOURCE = register_source(BusiSource())

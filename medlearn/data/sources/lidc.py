"""LIDC-IDRI nodule crops (Armato et al. 2011), imported from a folder.

Layout: ``nodules.csv`` beside the PNG crops. Each row names a 50x50 8-bit crop of the
CT slice through one nodule and its union / intersection / difference masks over up
to four readers, with the readers' mean ratings (malignancy 1-5), volume and diameter.

Labels (lung case ``("benign", "malignant")``): mean malignancy above 3 -> malignant
(1), below 3 -> benign (0). A mean of exactly 3 means "indeterminate": such nodules are
left out by default (NoduleMNIST3D does the same), or kept with ``label=None`` when the
source is built with ``include_indeterminate=True``. The mask is the readers' union.
Crops are min-max scaled per crop, so intensities are not Hounsfield units, and carry no
pixel spacing (``spacing_known`` False: sizes measured on them are in pixels). The split
is by patient.

Nodule detection (``lung_detection``): every nodule, indeterminate ones included, pasted
into phantom chest slices (:func:`medlearn.data.phantoms.lung_slice.lidc_slices`: three
slices per nodule and one without nodules per patient), split by patient.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from medlearn.cases import get_case
from medlearn.data.image import Window
from medlearn.data.sources._read import read, read_mask
from medlearn.data.sources.base import Sample, register_source
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select

RATINGS = ("subtlety", "internalStructure", "calcification", "sphericity", "margin",
           "lobulation", "spiculation", "texture", "malignancy")


def label_of(malignancy_mean: float) -> int | None:
    """1 above 3 (malignant), 0 below 3 (benign), None for exactly 3 (indeterminate)."""
    return 1 if malignancy_mean > 3 else 0 if malignancy_mean < 3 else None


class LidcCropsSource(LocalDatasetSource):
    name = "lidc_crops"
    title = "LIDC-IDRI nodule crops"
    cases = ("lung", "lung_detection")
    licence = "CC BY 3.0 (TCIA)"
    citation = "Armato S.G. III et al. The LIDC/IDRI database. Med Phys 38:915 (2011)."
    url = "https://www.cancerimagingarchive.net/collection/lidc-idri/"
    description = "2D CT crops through lung nodules, readers' masks and mean malignancy ratings (1-5)."
    mirror_subpath = "lung_nodule_ct/lidc_crops"
    how_to_get = "Prepare a folder of 50x50 nodule crops with a nodules.csv (see `datasets --json`)."

    def __init__(self, root: str | Path | None = None, include_indeterminate: bool = False) -> None:
        super().__init__(root)
        self.include_indeterminate = include_indeterminate

    def looks_right(self, folder: Path) -> bool:
        return (folder / "nodules.csv").is_file()

    def layout_help(self) -> str:
        return ("Expected nodules.csv (image, mask_union, patient_id, malignancy_mean, ...) "
                "beside the PNG crops.")

    def rows(self, root: Path) -> list[dict[str, str]]:
        """Every row of ``nodules.csv`` (all nodules, indeterminate ones included)."""
        with open(root / "nodules.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        root = self.root()
        if get_case(case).task.is_detection:  # every nodule, pasted into phantom chest slices (positives)
            from medlearn.data.phantoms.lung_slice import lidc_slices

            rows = select(self.rows(root), split, group=lambda r: r["patient_id"], key=lambda r: r["image"])
            return lidc_slices(rows, lambda r: self._crop(root, r), limit=limit)
        rows = [r for r in self.rows(root)
                if self.include_indeterminate or label_of(float(r["malignancy_mean"])) is not None]
        rows = select(rows, split, group=lambda r: r["patient_id"], limit=limit, key=lambda r: r["image"])
        return [self._sample(root, r) for r in rows]

    def _crop(self, root: Path, row: dict[str, str]):
        """A row's 8-bit crop and the readers' union mask, as arrays."""
        return read(root / row["image"], modality="CT", spacing_known=False).pixels, read_mask(root / row["mask_union"]) > 0

    def _sample(self, root: Path, row: dict[str, str]) -> Sample:
        image = read(root / row["image"], modality="CT", window=Window(127.5, 255.0, "crop"),
                     source=f"lidc_crops/{row['image']}", spacing_known=False)  # crops carry no spacing
        mask = (read_mask(root / row["mask_union"]) > 0).astype("uint8")
        meta: dict[str, Any] = {
            "patient": row["patient_id"], "roi": int(row["roi"]), "scan": row["scan"],
            "volume_mm3": float(row["volume_mm3"]), "diameter_mm": float(row["eq_diameter_mm"]),
            "slice_no": int(row["slice_no"]),
            "note": "8-bit crop scaled per crop (not Hounsfield units); pixel spacing unknown.",
        }
        meta.update({f"{k}_mean": float(row[f"{k}_mean"]) for k in RATINGS if f"{k}_mean" in row})
        stem = Path(row["image"]).stem
        return Sample(stem, image, label_of(meta["malignancy_mean"]), mask, meta)


SOURCE = register_source(LidcCropsSource())

"""CHASE_DB1 retinal vessel reference set (Fraz et al. 2012), imported from a folder.

Fundus photographs of both eyes of children of the Child Heart And Health Study in England
(Nidek NM-200-D, 30° field centred on the optic disc, 999 x 960 px), each with manual vessel
masks by two observers. Two layouts are read:

* the original release: ``Image_01L.jpg`` beside ``Image_01L_1stHO.png`` and
  ``Image_01L_2ndHO.png`` in one folder;
* the mirror's derived copy: ``images/Image_01L.jpg`` and ``masks_2ndHO/Image_01L.jpg``
  (also ``masks_1stHO/`` when present), enlarged 3x (2997 x 2880) and saved as JPEG by a
  re-host: images and masks are reduced 3x again (Pillow's box filter) to 999 x 960.

Masks: vessel = 1 where the mask is above half its maximum (0/1 and 0/255 PNGs alike, and the
JPEG copies' ringing, ``> 127``); the first observer's when present (the usual reference),
else the second's (``meta["observer"]``). The patient is the child (``Image_03L`` and
``Image_03R`` are child 03): both eyes of a child always fall in the same split. CHASE ships
no field-of-view masks; figures inside the field of view derive it with
:func:`medlearn.data.fov.fov_mask`. Photographs carry no pixel spacing (sizes in pixels).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np

from medlearn.data.image import MedImage
from medlearn.data.sources._read import read, read_mask
from medlearn.data.sources.base import Sample, register_source
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select
from medlearn.errors import MedlearnInputError

NAME = re.compile(r"^Image_(\d{2})([LR])$")
ORIGINAL = (960, 999)  # rows, columns of a CHASE_DB1 photograph
OBSERVERS = ("1stHO", "2ndHO")


def reduction(shape: tuple[int, ...]) -> int:
    """The whole factor a photograph of ``shape`` was enlarged by from 999 x 960 (1: none)."""
    h, w = shape[:2]
    k = h // ORIGINAL[0]
    return k if k > 1 and (h, w) == (k * ORIGINAL[0], k * ORIGINAL[1]) else 1


def reduce_box(pixels: np.ndarray, factor: int) -> np.ndarray:
    """``pixels`` (uint8 grey or RGB) reduced ``factor`` times by averaging blocks (Pillow)."""
    if factor == 1:
        return pixels
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels, np.uint8)).reduce(factor))


def binarise(mask: np.ndarray) -> np.ndarray:
    """Vessel = 1 above half the mask's maximum (0/1, 0/255 and JPEG-noisy masks alike)."""
    top = int(mask.max()) if mask.size else 0
    return (mask > top / 2).astype(np.uint8) if top > 0 else np.zeros(mask.shape, np.uint8)


class ChaseSource(LocalDatasetSource):
    name = "chase_db1"
    title = "CHASE_DB1 retinal vessels"
    cases = ("retina_vessels",)
    licence = "CC BY 4.0 (as catalogued; the mirror's copy is adapted: enlarged and JPEG-encoded)"
    citation = ("Fraz M.M. et al. An ensemble classification-based approach applied to retinal blood vessel "
                "segmentation. IEEE Trans Biomed Eng 59(9):2538-2548 (2012).")
    url = "https://researchdata.kingston.ac.uk/96/"
    description = ("Fundus photographs of both eyes of school children (999 x 960 px, 30° field) with manual "
                   "vessel masks by two observers; split by child.")
    mirror_subpath = "diabetic_retinopathy_fundus/chase_db1_derived"
    how_to_get = "Download CHASEDB1.zip from Kingston University's research data repository and unzip it."

    def looks_right(self, folder: Path) -> bool:
        return bool(self.entries(folder))

    def layout_help(self) -> str:
        return ("Expected Image_01L.jpg with Image_01L_1stHO.png / _2ndHO.png beside it (the original zip), "
                "or images/ with masks_1stHO/ or masks_2ndHO/ (the derived copy).")

    def entries(self, root: Path) -> list[dict[str, Any]]:
        """One record per photograph that has a vessel mask: id, child, eye, image, mask, observer."""
        rows = []
        for image in sorted(root.glob("Image_*.jpg")) + sorted((root / "images").glob("Image_*.jpg")):
            found = NAME.match(image.stem)
            if not found:
                continue
            for observer in OBSERVERS:
                beside = [image.with_name(f"{image.stem}_{observer}{ext}") for ext in (".png", ".jpg")]
                folder = [root / f"masks_{observer}" / f"{image.stem}{ext}" for ext in (".jpg", ".png")]
                mask = next((p for p in (beside if image.parent == root else folder) if p.is_file()), None)
                if mask is not None:
                    rows.append({"id": image.stem, "child": found.group(1), "eye": found.group(2),
                                 "image": image, "mask": mask, "observer": observer})
                    break
        return rows

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        if options:
            raise MedlearnInputError(f"The {self.title} source takes no options (got: {', '.join(options)}).")
        rows = select(self.entries(self.root()), split, group=lambda r: f"child{r['child']}", limit=limit,
                      key=lambda r: r["id"])
        return [self._sample(r) for r in rows]

    def _sample(self, row: dict[str, Any]) -> Sample:
        stamp = (row["image"].stat().st_mtime_ns, row["mask"].stat().st_mtime_ns)
        pixels, vessels, factor = _photograph(str(row["image"]), str(row["mask"]), stamp)
        image = MedImage(pixels.copy(), modality="OP", source=f"chase_db1/{row['image'].name}", format="jpeg",
                         spacing_known=False)  # a photograph: sizes in pixels
        meta: dict[str, Any] = {
            "patient": f"child{row['child']}", "eye": {"L": "left", "R": "right"}[row["eye"]],
            "observer": {"1stHO": "first", "2ndHO": "second"}[row["observer"]],
            "vessel_fraction": round(float(vessels.mean()), 4),
        }
        if factor > 1:
            meta["note"] = (f"A {factor}x enlarged JPEG copy, reduced {factor}x again to 999 x 960: close "
                            "to, not identical with, the original photograph and mask.")
        return Sample(row["id"], image, None, vessels.copy(), meta)


@functools.lru_cache(maxsize=32)
def _photograph(image_path: str, mask_path: str, stamp: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """``(RGB uint8 (960, 999, 3), vessel mask uint8, reduction factor)`` of one photograph, read
    once per process (reading and checking a 2997 x 2880 JPEG takes about a second)."""
    rgb = read(Path(image_path)).pixels
    if rgb.ndim != 3 or rgb.shape[-1] < 3:
        raise MedlearnInputError(f"{Path(image_path).name} is not a colour photograph (shape {rgb.shape}).")
    raw = read_mask(Path(mask_path))
    if raw.shape != rgb.shape[:2]:
        raise MedlearnInputError(f"The vessel mask {Path(mask_path).name} is {raw.shape}, its photograph "
                                 f"{rgb.shape[:2]}; they must match.")
    factor = reduction(rgb.shape)
    mask = binarise(raw) * np.uint8(255)  # binarise first (JPEG ringing), then average blocks
    vessels = (reduce_box(mask, factor) > 127).astype(np.uint8)
    pixels = reduce_box(rgb[..., :3], factor)
    pixels.flags.writeable = vessels.flags.writeable = False  # shared by every load: read-only
    return pixels, vessels, factor


SOURCE = register_source(ChaseSource())

"""IDRiD, the Indian Diabetic Retinopathy Image Dataset (Porwal et al. 2018): segmentation part.

Layout (the IEEE Dataport release, and the mirror's copy of part of it)::

    A. Segmentation/1. Original Images/a. Training Set/IDRiD_01.jpg ...
    A. Segmentation/2. All Segmentation Groundtruths/a. Training Set/3. Hard Exudates/IDRiD_01_EX.(tif|jpg)
    A. Segmentation/2. All Segmentation Groundtruths/a. Training Set/5. Optic Disc/IDRiD_01_OD.(tif|jpg)

(``b. Testing Set`` folders are read too where present.) The photographs are 4288 x 2848
pixels (Kowa VX-10 alpha, 50 degree field), too large to keep fifteen of in a session:
they are read downsampled by ``factor`` (default 4, 1072 x 712), a JPEG by the decoder's own
DCT scaling (Pillow's ``draft``: each output pixel the mean of a ``factor`` x ``factor``
block, at a tenth of the cost of a full decode), anything else by block means. Masks store
the structure in the red channel (the release's TIFFs, a re-host's JPEGs with ringing at the
edges): a block is lesion where more than half of it is (red > 127), which keeps each
lesion's area. A photograph without an exudate mask file gets an empty mask and says so in
``meta["exudate_mask"]``; the optic disc mask, where present, is read by :func:`optic_disc`.

IDRiD publishes no patient identifiers: each photograph is counted as its own patient
(``meta["patient"]`` is the image's name), so splits and bootstrap intervals are by image.
The field of view is not shipped; :func:`medlearn.data.fov.fov_mask` derives it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from medlearn.data.image import MedImage
from medlearn.data.sources.base import Sample, register_source
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select
from medlearn.errors import MedlearnInputError

SEGMENTATION = "A. Segmentation"
IMAGES = "1. Original Images"
TRUTHS = "2. All Segmentation Groundtruths"
PARTS = ("a. Training Set", "b. Testing Set")
EXUDATES, OPTIC_DISC = "3. Hard Exudates", "5. Optic Disc"
FACTORS = (1, 2, 4, 8, 16)
DEFAULT_FACTOR = 4
_NAME = re.compile(r"^IDRiD_\d+$")
_MASK_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
PATIENT_NOTE = "IDRiD names no patients: each photograph counts as its own patient (split and intervals by image)."


def check_factor(factor) -> int:
    """The downsampling factor, or :class:`MedlearnInputError` naming the allowed ones."""
    if isinstance(factor, bool) or factor not in FACTORS:
        raise MedlearnInputError(f"The IDRiD downsampling factor must be one of {', '.join(map(str, FACTORS))}; "
                                 f"got {factor!r}.")
    return int(factor)


@lru_cache(maxsize=64)
def _read_scaled(path: str, stamp: int, factor: int, mask: bool) -> np.ndarray:
    """The picture at ``path`` reduced ``factor`` times by block means: ``(H, W, 3)`` uint8, or for
    a mask ``(H, W)`` bool (red > 127 on more than half of each block). A JPEG is first scaled by
    its own decoder (Pillow ``draft``), what is left by Pillow's ``reduce``. Cached per file version."""
    from PIL import Image

    from medlearn.data.io.limits import MAX_PIXELS_2D

    with Image.open(path) as im:
        w, h = im.size
        if w * h > MAX_PIXELS_2D:
            raise MedlearnInputError(f"{Path(path).name} claims {w} x {h} pixels, more than MedLearn reads.")
        size = (w // factor, h // factor)
        if im.format == "JPEG" and factor > 1:
            im.draft("RGB", size)  # the decoder's own 1/2, 1/4, 1/8 scaling (block means)
        rgb = im.convert("RGB")
        left = max(1, round(rgb.size[0] / size[0]))  # what the decoder did not shrink
        if left > 1:
            rgb = rgb.reduce(left)
        out = np.asarray(rgb)[: size[1], : size[0]]
    return out[..., 0] > 127 if mask else np.ascontiguousarray(out)


def _scaled(path: Path, factor: int, mask: bool) -> np.ndarray:
    try:
        stamp = path.stat().st_mtime_ns
        return _read_scaled(str(path), stamp, factor, mask)
    except OSError as exc:
        raise MedlearnInputError(f"Cannot read {path.name}: {exc}") from None


def _mask_file(folder: Path, stem: str, code: str) -> Path | None:
    for suffix in _MASK_SUFFIXES:
        candidate = folder / f"{stem}_{code}{suffix}"
        if candidate.is_file():
            return candidate
    return None


class IdridSource(LocalDatasetSource):
    name = "idrid"
    title = "IDRiD hard exudates"
    cases = ("retina_lesions",)
    licence = "CC BY 4.0"
    citation = ("Porwal P. et al. Indian Diabetic Retinopathy Image Dataset (IDRiD). Data 3(3):25 (2018); "
                "doi:10.21227/H25W98.")
    url = "https://idrid.grand-challenge.org/Data/"
    description = ("Macula-centred fundus photographs (4288 x 2848, 50 degrees) with pixel masks of hard "
                   "exudates and the optic disc; 81 in the release (54 training, 27 test). Read 4x smaller.")
    mirror_subpath = "diabetic_retinopathy_fundus/idrid_seg"
    how_to_get = "Download 'A. Segmentation' of IDRiD from IEEE Dataport (doi:10.21227/H25W98) and unzip it."

    def looks_right(self, folder: Path) -> bool:
        return (folder / SEGMENTATION / IMAGES).is_dir()

    def layout_help(self) -> str:
        return (f"Expected '{SEGMENTATION}/{IMAGES}/a. Training Set/IDRiD_NN.jpg' and the masks in "
                f"'{SEGMENTATION}/{TRUTHS}/a. Training Set/{EXUDATES}/IDRiD_NN_EX.tif'.")

    def entries(self, root: Path) -> list[dict[str, Any]]:
        """One record per photograph, in name order: id, part, image, exudate and disc mask paths."""
        rows = []
        for part in PARTS:
            folder = root / SEGMENTATION / IMAGES / part
            if not folder.is_dir():
                continue
            truths = root / SEGMENTATION / TRUTHS / part
            for image in sorted(folder.iterdir()):
                if image.is_file() and _NAME.match(image.stem) and image.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif"):
                    rows.append({"id": image.stem, "part": part, "image": image,
                                 "ex": _mask_file(truths / EXUDATES, image.stem, "EX"),
                                 "od": _mask_file(truths / OPTIC_DISC, image.stem, "OD")})
        return rows

    def _load(self, case: str, split: str, limit: int | None, factor: int = DEFAULT_FACTOR,
              **options: Any) -> list[Sample]:
        if options:
            raise MedlearnInputError(f"The {self.title} source does not take {', '.join(sorted(options))}.")
        factor = check_factor(factor)
        root = self.root()
        rows = select(self.entries(root), split, group=lambda r: r["id"], limit=limit, key=lambda r: r["id"])
        return [self._sample(root, row, factor) for row in sorted(rows, key=lambda r: r["id"])]

    def _sample(self, root: Path, row: dict[str, Any], factor: int) -> Sample:
        pixels = _scaled(row["image"], factor, mask=False)
        shape = pixels.shape[:2]
        meta: dict[str, Any] = {"patient": row["id"], "part": row["part"], "factor": factor,
                                "patient_note": PATIENT_NOTE,
                                "optic_disc": str(row["od"].relative_to(root)) if row["od"] else None}
        if row["ex"] is None:
            mask = np.zeros(shape, np.uint8)
            meta["exudate_mask"] = "no mask file: taken as no hard exudates (empty mask)"
        else:
            mask = _fit(_scaled(row["ex"], factor, mask=True), shape).astype(np.uint8)
            meta["exudate_mask"] = row["ex"].name
        meta["lesion_pixels"] = int(mask.sum())
        image = MedImage(pixels, spacing=(1.0, 1.0), modality="OP", orientation="2D",
                         source=f"idrid/{row['image'].name}", format="jpeg", spacing_known=False,
                         meta={"spacing_unit": "pixel"})
        if factor > 1:
            image.add_notes(f"Read {factor}x smaller than the {shape[1] * factor} x {shape[0] * factor} photograph "
                            "(block means); lesion masks likewise (lesion where over half of a block is).")
        return Sample(row["id"], image, None, mask, meta)

    def optic_disc(self, sample: Sample) -> np.ndarray | None:
        """The optic disc mask ``(H, W)`` bool of an IDRiD sample at its own size, or None without one."""
        relative = (sample.meta or {}).get("optic_disc")
        if not relative:
            return None
        factor = check_factor(sample.meta.get("factor", DEFAULT_FACTOR))
        return _fit(_scaled(self.root() / relative, factor, mask=True), sample.image.spatial_shape)


def _fit(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``mask`` cut or padded (with False) to ``shape``: a mask file a pixel larger or smaller
    than its photograph still lines up from the top-left corner."""
    out = np.zeros(shape, bool)
    h, w = min(shape[0], mask.shape[0]), min(shape[1], mask.shape[1])
    out[:h, :w] = mask[:h, :w]
    return out


SOURCE = register_source(IdridSource())

"""Generic folder import, so instructors can bring their own images.

Layouts (sub-folders ``train/``, ``val/``, ``test/`` holding either layout give the
split; otherwise the split is by file path, see :mod:`splits`):

* classification: one sub-folder per class, named after the case's class names
  (case and punctuation ignored: ``benign_or_normal``) or by index (``0``, ``1``...);
* segmentation: ``images/`` and ``masks/`` with the same file names (``x.png`` and
  ``x.png`` or ``x_mask.png``); mask values index the case's class names, and 0/255
  masks of a two-class case become 0/1.

Any format :func:`medlearn.data.io.read_image` reads works (PNG, JPEG, TIFF, DICOM,
NIfTI, NumPy). The registered ``folder`` source reads imports made with
``python -m medlearn fetch folder --from DIR --case CASE`` (kept in
``<data home>/datasets/folder/<case>``); ``FolderSource(root=DIR)`` reads any folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from medlearn.cases import list_cases
from medlearn.data import home
from medlearn.data.sources._read import read, read_mask
from medlearn.data.sources.base import DatasetSource, Progress, Sample, register_source
from medlearn.data.sources.local import copy_tree
from medlearn.data.sources.splits import select
from medlearn.errors import DatasetUnavailableError, MedlearnInputError

ALL_CASES = tuple(c.key for c in list_cases(studies=True))
SPLIT_DIRS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".nii", ".nii.gz", ".npy")


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.name.lower().endswith(IMAGE_SUFFIXES))


class FolderSource(DatasetSource):
    name = "folder"
    title = "Your own folder"
    cases = ALL_CASES
    kind = "folder"
    licence = "yours"
    citation = ""
    url = ""
    description = "Images you bring: class sub-folders (classification) or images/ + masks/ (segmentation)."

    def __init__(self, root: str | Path | None = None) -> None:
        self.fixed_root = Path(root).expanduser() if root is not None else None

    def case_root(self, case: str) -> Path:
        return self.fixed_root if self.fixed_root is not None else home.dataset_dir(self.name) / case

    def availability(self) -> str:
        if self.fixed_root is not None:
            return "folder" if self.fixed_root.is_dir() else ""
        here = [c for c in self.cases if self.case_root(c).is_dir()]
        return f"data home ({', '.join(here)})" if here else ""

    def fetch(self, progress: Progress | None = None, from_dir: str | Path | None = None,
              case: str | None = None, **options: Any) -> str:
        """Check ``from_dir`` fits ``case``, then copy it into the data home."""
        if options or from_dir is None or case is None:
            raise MedlearnInputError(
                "Import a folder with: python -m medlearn fetch folder --from DIR --case CASE"
            )
        source = FolderSource(from_dir)
        source.check_request(case, "all", None)
        count = len(source.index(case))
        target = home.ensure_dir(self.case_root(case))
        copy_tree(source.fixed_root, target, progress)
        return f"folder: imported {count} images for {case} into {target}"

    def index(self, case: str) -> list[dict[str, Any]]:
        """Every ``{"path", "split", "label"|"mask_path"}`` record of the folder, validated."""
        from medlearn.cases import get_case

        root = self.case_root(case)
        if not root.is_dir():
            raise DatasetUnavailableError(
                f"No folder imported for the {case} case. "
                f"Run: python -m medlearn fetch folder --from DIR --case {case}"
            )
        task = get_case(case).task
        parts = [(s, root / s) for s in SPLIT_DIRS if (root / s).is_dir()] or [(None, root)]
        records = [r for split, folder in parts
                   for r in (self._segmentation(folder, split) if task.is_segmentation
                             else self._classification(folder, split, task.class_names))]
        if not records:
            raise MedlearnInputError(
                f"The folder {root} holds no images for the {case} case. {self.description}"
            )
        return records

    def _classification(self, folder: Path, split: str | None,
                        names: tuple[str, ...]) -> list[dict[str, Any]]:
        lookup = {_key(n): i for i, n in enumerate(names)} | {str(i): i for i in range(len(names))}
        out = []
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if _key(sub.name) not in lookup:
                raise MedlearnInputError(
                    f"Folder {sub.name!r} is not a class of this case; use one of: "
                    f"{', '.join(_key(n) for n in names)} (or 0-{len(names) - 1})."
                )
            out += [{"path": p, "split": split, "label": lookup[_key(sub.name)]}
                    for p in _images(sub) if "_mask" not in p.name]  # BUSI-style masks beside images
        return out

    def _segmentation(self, folder: Path, split: str | None) -> list[dict[str, Any]]:
        images, masks = folder / "images", folder / "masks"
        if not (images.is_dir() and masks.is_dir()):
            raise MedlearnInputError(
                f"{folder} needs images/ and masks/ sub-folders for a segmentation case."
            )
        by_name = {p.name: p for p in _images(masks)}
        out = []
        for p in _images(images):
            stem, dot, ext = p.name.partition(".")
            mask = by_name.get(p.name) or by_name.get(f"{stem}_mask{dot}{ext}")
            if mask is None:
                raise MedlearnInputError(
                    f"No mask for {p.name}: add masks/{p.name} (same name as the image)."
                )
            out.append({"path": p, "split": split, "mask_path": mask})
        return out

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        from medlearn.cases import get_case

        records = self.index(case)
        root = self.case_root(case)
        rel = lambda r: str(r["path"].relative_to(root))  # noqa: E731
        if split != "all" and records[0]["split"] is not None:
            records = [r for r in records if r["split"] == split][:limit]
        else:
            records = select(records, split, group=rel, limit=limit, key=rel)
        case_obj = get_case(case)
        return [self._sample(r, rel(r), case_obj) for r in records]

    def _sample(self, record: dict[str, Any], rel: str, case: Any) -> Sample:
        image = read(record["path"])
        if image.modality == "OT":
            image = image.with_pixels(image.pixels, modality=case.modality)
        mask = None
        if "mask_path" in record:
            mask = read_mask(record["mask_path"])
            k = case.task.num_classes
            if k == 2 and set(np.unique(mask)) <= {0, 255}:
                mask = (mask > 0).astype(np.uint8)
            if mask.min() < 0 or mask.max() >= k:
                raise MedlearnInputError(
                    f"Mask {record['mask_path'].name} has values {sorted(np.unique(mask))[:6]}; "
                    f"this case needs 0-{k - 1} ({', '.join(case.task.class_names)})."
                )
            if mask.shape != image.spatial_shape:
                raise MedlearnInputError(
                    f"Mask {record['mask_path'].name} is {mask.shape} but its image is {image.spatial_shape}."
                )
        meta = {"file": rel, "split": record["split"] or "hash"}
        return Sample(rel, image, record.get("label"), mask, meta)


SOURCE = register_source(FolderSource())

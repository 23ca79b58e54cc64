"""MedMNIST+ datasets (Yang et al. 2023): RetinaMNIST, BreastMNIST, NoduleMNIST3D, PathMNIST.

Addresses and MD5 checksums are read at run time from the installed ``medmnist``
package's ``info.py``. We parse that file (``ast.literal_eval`` of its ``INFO`` dict)
instead of importing it because ``import medmnist.info`` runs the package's
``__init__`` (imports torch, PIL and scikit-learn: ~8 s on our CI machine) and
``info.py`` creates ``~/.medmnist`` at import time. For the same reasons the ``.npz``
files (official train/val/test arrays) are read with NumPy rather than medmnist's
dataset classes. Files live in ``<data home>/datasets/medmnist``; a copy already in
``~/.medmnist`` (from medmnist itself) or in the mirror's ``medmnist/`` is used too.

Labels are mapped to the case's classes: BreastMNIST's 0 = malignant / 1 = normal or
benign becomes 1 / 0; PathMNIST (colorectal tissue, a stand-in for the gastric case)
gives a tile-level label, 1 = tumour for "colorectal adenocarcinoma epithelium" and 0
otherwise, with no mask (``meta["tissue"]`` keeps the 9-class name).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any, Callable

import numpy as np

from medlearn.data import home
from medlearn.data.image import MedImage, Window
from medlearn.data.sources.base import DatasetSource, Progress, Sample, register_source
from medlearn.data.sources.download import RemoteFile, verify
from medlearn.data.sources.local import copy_tree
from medlearn.errors import DatasetUnavailableError, MedlearnInputError

SPLIT_ORDER = ("train", "val", "test")
MIRROR_FOLDERS = {"retinamnist": "diabetic_retinopathy_fundus/retinamnist"}
"""Where the mirror keeps an official file outside its ``medmnist/`` folder (by the case's data)."""


@functools.lru_cache(maxsize=1)
def medmnist_info() -> dict[str, dict[str, Any]]:
    """The ``INFO`` dict of the installed medmnist package, without importing it."""
    spec = importlib.util.find_spec("medmnist")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    if folder is None or not (folder / "info.py").is_file():
        raise DatasetUnavailableError("The medmnist package is not installed: pip install medmnist.")
    tree = ast.parse((folder / "info.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "INFO" for t in node.targets):
            return ast.literal_eval(node.value)
    raise DatasetUnavailableError("The installed medmnist package has no INFO table; reinstall medmnist.")


class MedMnistSource(DatasetSource):
    """One MedMNIST+ dataset at the sizes it is published in (28, 64, 128, 224)."""

    kind = "download"
    published_splits = True  # official train/val/test: training never sees the test split
    citation = ("Yang J. et al. MedMNIST v2: a large-scale lightweight benchmark for 2D and 3D "
                "biomedical image classification. Sci Data 10:41 (2023).")
    url = "https://medmnist.com/"

    def __init__(self, flag: str, case: str, title: str, modality: str, relabel: Callable[[int], int],
                 description: str, approx_mb: float, tissue_names: bool = False) -> None:
        self.name, self.flag, self.cases, self.title = flag, flag, (case,), title
        self.modality, self.relabel, self.description = modality, relabel, description
        self.approx_mb, self.tissue_names = approx_mb, tissue_names

    @property
    def info(self) -> dict[str, Any]:
        return medmnist_info()[self.flag]

    @property
    def licence(self) -> str:  # type: ignore[override]
        try:
            return self.info.get("license", "")
        except DatasetUnavailableError:
            return ""

    def sizes(self) -> tuple[int, ...]:
        """Published image sizes (``url`` is 28 px, ``url_N`` is N px)."""
        return tuple(sorted(28 if k == "url" else int(k[4:]) for k in self.info if k.startswith("url")))

    def filename(self, size: int) -> str:
        return f"{self.flag}.npz" if size == 28 else f"{self.flag}_{size}.npz"

    def candidates(self, size: int) -> list[tuple[str, Path | None]]:
        mirrors = [home.mirror_path(sub) for sub in ("medmnist", MIRROR_FOLDERS.get(self.flag, ""))]
        return [("data home", home.dataset_dir("medmnist") / self.filename(size)),
                ("medmnist cache", Path.home() / ".medmnist" / self.filename(size)),
                *(("mirror", folder / self.filename(size)) for folder in mirrors if folder is not None)]

    def find(self, size: int) -> tuple[str, Path] | None:
        for where, path in self.candidates(size):
            if path is not None and path.is_file():
                return where, path
        return None

    def availability(self) -> str:
        try:
            found = [(s, self.find(s)) for s in self.sizes()]
        except DatasetUnavailableError:
            return ""
        return ", ".join(f"{hit[0]} {s}px" for s, hit in found if hit)

    def remote_file(self, size: int = 28) -> RemoteFile:
        """The official ``.npz`` of one size (address and MD5 from medmnist's table)."""
        size = self.check_size(size)
        key = "" if size == 28 else f"_{size}"
        return RemoteFile(self.info[f"url{key}"], self.info[f"MD5{key}"],
                          home.dataset_dir("medmnist") / self.filename(size),
                          self.approx_mb if size == 28 else None)

    def check_size(self, size: Any) -> int:
        if size not in self.sizes():
            raise MedlearnInputError(
                f"{self.title} comes in sizes {', '.join(map(str, self.sizes()))} px, not {size!r}."
            )
        return int(size)

    def fetch(self, progress: Progress | None = None, size: int = 28, from_dir: str | Path | None = None,
              **options: Any) -> str:
        """Download the ``.npz`` of one size (MD5 from medmnist), or copy it from ``from_dir``."""
        if options:
            raise MedlearnInputError(f"{self.title} takes only --size and --from (got {', '.join(options)}).")
        remote = self.remote_file(size)
        if from_dir is not None:
            given = Path(from_dir).expanduser() / remote.name
            if not verify(given, md5=remote.md5):
                raise MedlearnInputError(
                    f"{given} is missing or damaged (its MD5 does not match {self.title})."
                )
            home.ensure_dir(remote.dest.parent)
            copy_tree(given.parent, remote.dest.parent, progress, only=given.name)
        elif self.find(size) is None:
            remote.fetch(progress)
        return self.status()

    def status(self) -> str:
        where = self.availability()
        return (f"{self.name}: available ({where})" if where
                else f"{self.name}: not downloaded; run python -m medlearn fetch {self.name} --size 28")

    def _load(self, case: str, split: str, limit: int | None, size: int | None = None,
              **options: Any) -> list[Sample]:
        if options:
            raise MedlearnInputError(f"{self.title} takes only a size option (got {', '.join(options)}).")
        sizes = [self.check_size(size)] if size is not None else list(self.sizes())
        found = next(((s, self.find(s)) for s in sizes if self.find(s)), None)
        if found is None:
            hint = self.status().split("; ")[-1]
            raise DatasetUnavailableError(f"{self.title} is not downloaded yet. {hint}.")
        size, (_, path) = found
        samples: list[Sample] = []
        with np.load(path) as npz:
            for part in SPLIT_ORDER if split == "all" else (split,):
                left = None if limit is None else limit - len(samples)
                if left == 0:
                    break
                images, labels = npz[f"{part}_images"][:left], npz[f"{part}_labels"][:left]
                samples += [self._sample(part, i, images[i], int(labels[i].ravel()[0]), size)
                            for i in range(len(images))]
        return samples

    def _sample(self, part: str, index: int, pixels: np.ndarray, raw: int, size: int) -> Sample:
        image = MedImage(pixels, modality=self.modality, window=Window(127.5, 255.0, "8-bit"),
                         source=f"{self.flag}_{size}/{part}/{index}", format="npz")
        meta: dict[str, Any] = {"split": part, "size": size, "original_label": raw,
                                "original_class": self.info["label"][str(raw)]}
        if self.tissue_names:
            meta["tissue"] = self.info["label"][str(raw)]
        return Sample(f"{self.flag}_{size}_{part}_{index}", image, self.relabel(raw), None, meta)


_SPECS = (  # flag, case, title, modality, relabel, description, about how many MB the 28 px file is
    ("retinamnist", "retina", "RetinaMNIST (DeepDRiD fundus)", "OP", lambda y: y,
     "1,600 fundus photographs graded 0-4 (1,080 / 120 / 400).", 3.3),
    ("breastmnist", "breast", "BreastMNIST (BUSI ultrasound)", "US", lambda y: 1 - y,
     "780 breast ultrasound images, benign or normal vs malignant (546 / 78 / 156).", 0.6),
    ("nodulemnist3d", "lung", "NoduleMNIST3D (LIDC-IDRI CT cubes)", "CT", lambda y: y,
     "1,633 lung nodule CT cubes (28^3 or 64^3, 8-bit), benign vs malignant (1,158 / 165 / 310).", 29.0),
    ("pathmnist", "gastric", "PathMNIST (colorectal H&E, stand-in)", "SM", lambda y: int(y == 8),
     "107,180 colorectal H&E tiles in 9 tissue classes; a stand-in for gastric pathology.", 206.0),
)

SOURCES = [register_source(MedMnistSource(*spec, tissue_names=spec[0] == "pathmnist")) for spec in _SPECS]

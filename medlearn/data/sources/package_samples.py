"""Real images shipped inside installed packages: usable offline, no download.

* scikit-image ``data.retina()`` (published on Wikimedia as "fundus photograph of
  normal left eye", CC0: label 0, No DR), ``data.microaneurysms()`` (a grey crop of a
  DR image from the HRF database showing microaneurysms, CC0; the crop has no grade, so
  ``label=None``), and ``data.immunohistochemistry()`` (colonic glands, DAB with a
  haematoxylin counterstain, not H&E: a stain-separation demo for the pathology case).
  Checked to load without network. ``data.brain()`` and ``cells3d()`` need pooch and a
  download, so they are not offered.
* pydicom's test files (``pydicom.data.get_testdata_file``, all shipped in the wheel):
  ``CT_small.dcm`` (a chest CT slice at the spine, lung case), and for the file viewer
  only (``load(None)``): ``MR_small.dcm``, ``examples_overlay.dcm`` (abdominal MR with a
  marked liver lesion) and two JPEG 2000 head CT slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from medlearn.data.image import MedImage
from medlearn.data.sources._read import read
from medlearn.data.sources.base import DatasetSource, Sample, register_source
from medlearn.errors import DatasetUnavailableError, MedlearnInputError


@dataclass(frozen=True)
class PackageSample:
    """One shipped image: how to load it, which cases it fits, what is honest to say.

    ``what`` names the picture in a few words (``"an IHC-stained slide of colonic glands"``):
    the source's descriptions are built from it, per case, so a case never reads another
    case's picture in its caption. ``note`` is the longer word on the one image.
    """

    id: str
    cases: tuple[str, ...]
    loader: Callable[[], MedImage]
    what: str
    note: str
    label: int | None = None


class PackageSampleSource(DatasetSource):
    """Sources whose images ship inside a Python package; ``load(None)`` returns all."""

    kind = "package"

    def __init__(self, name: str, title: str, package: str, samples: tuple[PackageSample, ...],
                 **facts: str) -> None:
        self.name, self.title, self.package, self.samples = name, title, package, samples
        for key, value in facts.items():  # licence, citation, url
            setattr(self, key, value)
        self.cases = tuple(dict.fromkeys(c for s in samples for c in s.cases))
        self.description = self.description_for(None)

    def description_for(self, case: str | None) -> str:
        """What this source holds for ``case`` (every shipped image when None), in one sentence:
        ``"Shipped with scikit-image (offline): an IHC slide of colonic glands (...)."``"""
        whats = [s.what for s in self.samples if case is None or case in s.cases]
        if not whats:
            return f"No image shipped with {self.package} fits this case."
        return f"Shipped with {self.package} (offline): {'; '.join(whats)}."

    def availability(self) -> str:
        return "package"

    def load(self, case: str | None, split: str = "all", limit: int | None = None,
             **options: Any) -> list[Sample]:
        """Samples for ``case`` (or every shipped image when ``case`` is None); all are in every split."""
        if options:
            raise MedlearnInputError(f"The {self.title} source takes no options (got {', '.join(options)}).")
        self.check_request(case if case is not None else self.cases[0], split, limit)
        return self._load(case, split, limit)

    def _load(self, case: str | None, split: str, limit: int | None, **options: Any) -> list[Sample]:
        chosen = [s for s in self.samples if case is None or case in s.cases][:limit]
        out = []
        for spec in chosen:
            try:
                image = spec.loader()
            except (OSError, ImportError, ModuleNotFoundError) as exc:
                raise DatasetUnavailableError(
                    f"The packaged sample {spec.id} cannot be read here: {exc}"
                ) from None
            out.append(Sample(spec.id, image, spec.label, None, {"note": spec.note, "package": self.name}))
        return out


def _skimage(name: str, modality: str) -> Callable[[], MedImage]:
    def load() -> MedImage:
        from skimage import data

        return MedImage(getattr(data, name)(), modality=modality, source=f"skimage.data.{name}", format="png")

    return load


def _pydicom(filename: str) -> Callable[[], MedImage]:
    def load() -> MedImage:
        from pydicom.data import get_testdata_file

        path = get_testdata_file(filename, download=False)
        if path is None:
            raise OSError(f"{filename} is not shipped with this pydicom")
        return read(Path(path), source=f"pydicom/{filename}")

    return load


SKIMAGE = register_source(PackageSampleSource(
    "skimage_samples", "scikit-image sample images", "scikit-image", (
        PackageSample("skimage_retina", ("retina",), _skimage("retina", "OP"),
                      "a colour fundus photograph of a normal left eye (No DR)",
                      "Colour fundus photograph published as a normal left eye (Wikimedia, CC0): No DR.", 0),
        PackageSample("skimage_microaneurysms", ("retina",), _skimage("microaneurysms", "OP"),
                      "a grey crop of a diabetic retina showing microaneurysms",
                      "Green-channel crop of a diabetic retinopathy image (HRF 07_dr) showing "
                      "microaneurysms; the crop is not graded, so no label."),
        PackageSample("skimage_immunohistochemistry", ("gastric",), _skimage("immunohistochemistry", "SM"),
                      "an immunohistochemistry (IHC) slide of colonic glands, brown DAB with a blue "
                      "haematoxylin counterstain (not an H&E slide; no tumour mask)",
                      "Colonic glands, IHC (DAB) with haematoxylin counterstain, not H&E: "
                      "for stain separation demos; no tumour mask."),
    ),
    licence="CC0 (retina, microaneurysms); no known copyright restrictions (immunohistochemistry)",
    citation="van der Walt S. et al. scikit-image: image processing in Python. PeerJ 2:e453 (2014).",
    url="https://scikit-image.org/docs/stable/api/skimage.data.html",
))

PYDICOM = register_source(PackageSampleSource(
    "pydicom_samples", "pydicom test images", "pydicom", (
        PackageSample("pydicom_CT_small", ("lung",), _pydicom("CT_small.dcm"),
                      "a real chest CT slice in Hounsfield units (no nodule label)",
                      "Real chest CT slice (128x128, Hounsfield units; NEMA WG04 CT1, downsized); "
                      "no nodule label."),
        PackageSample("pydicom_MR_small", (), _pydicom("MR_small.dcm"), "a small MR slice",
                      "Small MR slice (NEMA WG04 MR1, downsized)."),
        PackageSample("pydicom_examples_overlay", (), _pydicom("examples_overlay.dcm"),
                      "an abdominal MR with a marked liver lesion",
                      "Abdominal MR (Siemens sample) with a marked liver lesion."),
        PackageSample("pydicom_693_J2KI", (), _pydicom("693_J2KI.dcm"), "a JPEG 2000 head CT slice",
                      "Head CT slice, JPEG 2000 compressed."),
        PackageSample("pydicom_J2K_pixelrep_mismatch", (), _pydicom("J2K_pixelrep_mismatch.dcm"),
                      "a lossless JPEG 2000 head CT slice", "Head CT slice, JPEG 2000 lossless."),
    ),
    licence="MIT (pydicom test data; NEMA WG04 sample images)",
    citation="Mason D. et al. pydicom: an open source DICOM library. https://github.com/pydicom/pydicom",
    url="https://pydicom.github.io/pydicom/stable/guides/user/datasets.html",
))

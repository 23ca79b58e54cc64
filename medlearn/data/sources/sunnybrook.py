"""Sunnybrook Cardiac Data (Radau et al. 2009), imported from a folder.

Layout (as released for the 2009 LV Segmentation Challenge): ``dicoms/<patient>/<N>.dcm``
short-axis cine frames, ``contourfiles/<case>/i-contours`` (endocardium) and
``o-contours`` (epicardium) with one ``x y`` point per line in pixel coordinates
(x = column, y = row); ``IM-0001-NNNN-icontour-manual.txt`` belongs to
``dicoms/<patient>/N.dcm`` (leading zeros dropped); ``link.csv`` maps patient folders
to cases. Only frames with an i-contour become samples.

Masks (heart case): 1 = LV cavity (inside the i-contour), 2 = myocardium (inside the
o-contour, outside the i-contour), rasterised with ``skimage.draw.polygon``. Experts
drew o-contours only at end-diastole, so ES samples have no myocardium label
(``meta["labelled"]`` lists the classes drawn). Phase: a patient's contoured frames
fall into two TriggerTime clusters (split at the midpoint); the cluster with the larger
total cavity area is end-diastole (ED = largest volume), the other end-systole.
The split is by patient.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
from skimage.draw import polygon

from medlearn.data.sources._read import read
from medlearn.data.sources.base import Sample, register_source
from medlearn.data.sources.local import LocalDatasetSource
from medlearn.data.sources.splits import select
from medlearn.errors import MedlearnInputError

_CONTOUR = re.compile(r"IM-\d+-(\d+)-icontour-manual\.txt$")


def contour_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean ``(H, W)`` inside a closed contour given as ``(N, 2)`` ``x y`` points."""
    rows, cols = polygon(points[:, 1], points[:, 0], shape)
    inside = np.zeros(shape, bool)
    inside[rows, cols] = True
    return inside


def read_points(path: Path) -> np.ndarray:
    """``(N, 2)`` float ``x y`` points of one contour file."""
    try:
        points = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError:
        raise MedlearnInputError(f"The contour file {path.name} is not a list of 'x y' numbers.") from None
    if points.shape[1] != 2 or len(points) < 3:
        raise MedlearnInputError(f"The contour file {path.name} needs at least 3 'x y' points.")
    return points


class SunnybrookSource(LocalDatasetSource):
    name = "sunnybrook"
    title = "Sunnybrook Cardiac Data"
    cases = ("heart",)
    licence = "CC0 1.0"
    citation = ("Radau P. et al. Evaluation framework for algorithms segmenting short axis cardiac MRI. "
                "MIDAS J (2009).")
    url = "https://www.cardiacatlas.org/sunnybrook-cardiac-data/"
    description = "45 short-axis cine MRI studies with expert LV contours at end-diastole and end-systole."
    mirror_subpath = "cardiac_lv_mri/sunnybrook"
    how_to_get = ("Download the Sunnybrook Cardiac Data (DICOM images and expert contours) "
                  "from the Cardiac Atlas Project.")

    def looks_right(self, folder: Path) -> bool:
        return all((folder / n).exists() for n in ("dicoms", "contourfiles", "link.csv"))

    def layout_help(self) -> str:
        return ("Expected dicoms/<patient>/, contourfiles/<case>/i-contours and link.csv "
                "(patient_id,original_id).")

    def frames(self, root: Path) -> list[dict[str, Any]]:
        """One record per contoured frame: patient, case, number, dicom and contour paths."""
        with open(root / "link.csv", newline="") as fh:
            links = [(r["patient_id"].strip(), r["original_id"].strip()) for r in csv.DictReader(fh)]
        out = []
        for patient, case_id in links:
            for icontour in sorted((root / "contourfiles" / case_id / "i-contours").glob("*.txt")):
                found = _CONTOUR.search(icontour.name)
                dicom = root / "dicoms" / patient / f"{int(found.group(1))}.dcm" if found else None
                if dicom is not None and dicom.is_file():
                    name = icontour.name.replace("icontour", "ocontour")
                    ocontour = icontour.parent.parent / "o-contours" / name
                    out.append({"patient": patient, "case_id": case_id, "number": int(found.group(1)),
                                "dicom": dicom, "icontour": icontour, "ocontour": ocontour})
        return out

    def _load(self, case: str, split: str, limit: int | None, **options: Any) -> list[Sample]:
        frames = select(self.frames(self.root()), split, group=lambda f: f["patient"])
        samples = [self._sample(f) for f in frames]
        _assign_phases(samples)
        return samples if limit is None else samples[:limit]

    def _sample(self, frame: dict[str, Any]) -> Sample:
        where = f"sunnybrook/{frame['patient']}/{frame['dicom'].name}"
        image = read(frame["dicom"], modality="MR", source=where)
        shape = image.spatial_shape
        cavity = contour_mask(read_points(frame["icontour"]), shape)
        mask = cavity.astype(np.uint8)
        labelled = [0, 1]
        if frame["ocontour"].is_file():
            mask[contour_mask(read_points(frame["ocontour"]), shape) & ~cavity] = 2
            labelled.append(2)
        meta = {"patient": frame["patient"], "case_id": frame["case_id"], "image_number": frame["number"],
                "labelled": labelled, **_timing(frame["dicom"])}
        return Sample(f"{frame['patient']}_{frame['number']:04d}", image, None, mask, meta)


def _timing(path: Path) -> dict[str, float | None]:
    """Cardiac phase and position from the DICOM header (pixels are read by ``read``)."""
    import pydicom

    header = pydicom.dcmread(path, stop_before_pixels=True,
                             specific_tags=["TriggerTime", "SliceLocation", "SliceThickness"])
    out = {}
    for key, tag in (("trigger_time_ms", "TriggerTime"), ("slice_location", "SliceLocation"),
                     ("slice_thickness_mm", "SliceThickness")):
        value = header.get(tag)
        out[key] = float(value) if value not in (None, "") else None
    return out


def _assign_phases(samples: list[Sample]) -> None:
    """Set ``meta["phase"]`` to ``"ED"`` or ``"ES"`` per patient (see module doc)."""
    for patient in {s.meta["patient"] for s in samples}:
        mine = [s for s in samples if s.meta["patient"] == patient]
        times = [s.meta["trigger_time_ms"] for s in mine]
        if None in times:
            continue
        cut = (min(times) + max(times)) / 2
        late = [s for s in mine if s.meta["trigger_time_ms"] > cut]
        early = [s for s in mine if s.meta["trigger_time_ms"] <= cut]
        area = lambda group: sum(int((s.mask == 1).sum()) for s in group)  # noqa: E731
        ed, es = (late, early) if area(late) >= area(early) else (early, late)
        for s in ed:
            s.meta["phase"] = "ED"
        for s in es:
            s.meta["phase"] = "ES" if late and early else "ED"


SOURCE = register_source(SunnybrookSource())

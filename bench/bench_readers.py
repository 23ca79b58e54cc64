"""Readers: MedLearn's ``read_image`` against a direct Pillow / nibabel / pydicom call.

Target: at most 1.2x the direct call on the same file. The direct call is what a
student would write by hand for the same result: pixels as a numpy array, NIfTI in
canonical (RAS+) orientation, DICOM through the modality rescale
(``ds.pixel_array * slope + intercept``, slope 1 and intercept 0 when absent).

Timing: CPU time (``time.process_time``), not wall time, because these machines are
shared; the two calls alternate in one loop (and swap places every repeat) so load
and cache effects hit both alike; the figures are medians.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image

from bench.common import Row
from medlearn.data.io import read_image


def _files(tmp: Path) -> dict[str, Path]:
    mirror = os.environ.get("MEDLEARN_MIRROR")
    files: dict[str, Path] = {}
    if mirror and Path(mirror, "breast_ultrasound/busi/images").is_dir():
        files["png"] = sorted(Path(mirror, "breast_ultrasound/busi/images").glob("*.png"))[0]
        files["nifti"] = sorted(Path(mirror, "hippocampus_mri/msd_task04/imagesTr").glob("*.nii.gz"))[0]
    else:
        rng = np.random.default_rng(0)
        files["png"] = tmp / "us.png"
        Image.fromarray(rng.integers(0, 255, (480, 560), dtype=np.uint8)).save(files["png"])
        files["nifti"] = tmp / "vol.nii.gz"
        nib.save(nib.Nifti1Image(rng.random((35, 51, 35), dtype=np.float32), np.eye(4)), files["nifti"])
    files["dicom"] = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    if mirror and Path(mirror, "cardiac_lv_mri/sunnybrook/dicoms").is_dir():  # MR: windows, no rescale
        files["dicom MR"] = sorted(Path(mirror, "cardiac_lv_mri/sunnybrook/dicoms").glob("*/*.dcm"))[0]
    return files


def _direct_png(p):
    with Image.open(p) as im:
        return np.asarray(im)


def _direct_nifti(p):
    img = nib.as_closest_canonical(nib.load(p))
    return np.asanyarray(img.dataobj)


def _direct_dicom(p):
    ds = pydicom.dcmread(p)
    return ds.pixel_array * float(ds.get("RescaleSlope", 1.0)) + float(ds.get("RescaleIntercept", 0.0))


DIRECT = {"png": _direct_png, "nifti": _direct_nifti, "dicom": _direct_dicom, "dicom MR": _direct_dicom}


def cpu_interleaved(ours: Callable[[], object], direct: Callable[[], object], repeat: int,
                    warmup: int = 10) -> tuple[list[float], list[float]]:
    """CPU milliseconds of ``ours`` and ``direct``, called alternately (order swapped
    every repeat)."""
    for _ in range(warmup):
        ours(), direct()
    times: dict[str, list[float]] = {"ours": [], "direct": []}
    pairs = (("ours", ours), ("direct", direct))
    for i in range(repeat):
        for key, fn in pairs if i % 2 == 0 else pairs[::-1]:
            t0 = time.process_time()
            fn()
            times[key].append((time.process_time() - t0) * 1000.0)
    return times["ours"], times["direct"]


def run(repeat: int = 300) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in _files(Path(tmp)).items():
            ours, direct = cpu_interleaved(lambda p=path: read_image(p), lambda p=path, k=kind: DIRECT[k](p),
                                           repeat)
            mine, base = statistics.median(ours), statistics.median(direct)
            ratio = mine / base
            rows.append(Row("readers", f"read {kind} ({path.name[:24]})", mine, "ms CPU median",
                            baseline=base, ratio=ratio, target="ratio <= 1.2", ok=ratio <= 1.2,
                            extra={"repeat": repeat, "mean_ms": statistics.fmean(ours),
                                   "baseline_mean_ms": statistics.fmean(direct),
                                   "load_avg_1min": round(os.getloadavg()[0], 2)}))
    return rows

"""Readers: MedLearn's ``read_image`` against a direct Pillow / nibabel / pydicom call.

Target: at most 1.2x the direct call on the same file. The direct call is what a
student would write by hand for the same result (pixels as an array, NIfTI in
canonical orientation, DICOM rescaled to Hounsfield units).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image

from bench.common import Row, interleaved
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
    return files


def _direct_png(p):
    with Image.open(p) as im:
        return np.asarray(im)


def _direct_nifti(p):
    img = nib.as_closest_canonical(nib.load(p))
    return np.asanyarray(img.dataobj)


def _direct_dicom(p):
    ds = pydicom.dcmread(p)
    return ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


DIRECT = {"png": _direct_png, "nifti": _direct_nifti, "dicom": _direct_dicom}


def run(repeat: int = 30) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in _files(Path(tmp)).items():
            t = interleaved({"medlearn": lambda p=path: read_image(p), "direct": lambda p=path, k=kind: DIRECT[k](p)},
                            repeat=repeat)
            ratio = t["medlearn"].median / t["direct"].median
            rows.append(Row("readers", f"read {kind} ({path.name[:24]})", t["medlearn"].median, "ms median",
                            baseline=t["direct"].median, ratio=ratio, target="ratio <= 1.2", ok=ratio <= 1.2))
    return rows

"""The readers on real files from the local mirror (skipped when MEDLEARN_MIRROR is unset)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medlearn.data.io import read_image

pytestmark = pytest.mark.mirror
ROOT = Path(__file__).resolve().parents[3]


def _first(folder: Path, pattern: str) -> Path:
    files = sorted(folder.glob(pattern))
    if not files:
        pytest.skip(f"no {pattern} under {folder}")
    return files[0]


def _cli(*paths) -> dict:
    done = subprocess.run([sys.executable, "-m", "medlearn", "info", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_busi_png(mirror):
    path = _first(mirror / "breast_ultrasound/busi/images", "benign*.png")
    img = read_image(path)
    assert img.format == "png" and img.pixels.dtype.name == "uint8"
    assert img.pixels.ndim == 2 or img.shape[-1] == 3
    assert 150 <= img.shape[0] <= 1000
    assert _cli(path)["shape"] == list(img.shape)


def test_lidc_crop(mirror):
    path = _first(mirror / "lung_nodule_ct/lidc_crops", "LIDC-IDRI-*_?_???????.png")
    img = read_image(path)
    assert img.spatial_shape == (50, 50)
    assert _cli(path)["shape"][:2] == [50, 50]


def test_msd_hippocampus_nifti(mirror):
    path = _first(mirror / "hippocampus_mri/msd_task04/imagesTr", "hippocampus_*.nii.gz")
    img = read_image(path)
    assert img.orientation == "RAS" and img.spatial_dims == 3
    assert all(20 <= s <= 70 for s in img.shape)
    assert img.spacing == pytest.approx((1.0, 1.0, 1.0))
    assert _cli(path)["spacing_mm"] == pytest.approx([1.0, 1.0, 1.0])


def test_sunnybrook_series_folder(mirror):
    folder = sorted(p for p in (mirror / "cardiac_lv_mri/sunnybrook/dicoms").iterdir() if p.is_dir())[0]
    img = read_image(folder)
    assert img.format == "dicom" and img.modality == "MR"
    assert img.shape[1:] == (256, 256) and img.shape[0] >= 2
    assert img.spacing[1:] == pytest.approx((1.367, 1.367), abs=1e-3)
    assert img.spacing[0] == pytest.approx(10.0, abs=0.5)  # positions 10 mm apart along the normal
    assert img.meta["phases"] == 2  # end-diastole and end-systole at each position
    described = _cli(folder)
    assert described["shape"] == list(img.shape) and folder.name not in json.dumps(described.get("meta", {}))
    one = read_image(_first(folder, "*.dcm"))
    assert one.shape == (256, 256) and "PatientName" not in json.dumps(one.describe())

"""LIDC crops carry no pixel spacing: their images say so, and sizes on them come in pixels."""

import csv

import numpy as np
from PIL import Image

from medlearn.clinical import NO_SPACING_NOTE, measure
from medlearn.data.sources.lidc import LidcCropsSource

FIELDS = ["image", "mask_union", "mask_intersection", "mask_difference", "patient_id", "roi", "scan", "volume_mm3",
          "eq_diameter_mm", "x_loc", "y_loc", "slice_no", "malignancy_mean"]


def _folder(tmp_path):
    yy, xx = np.mgrid[:50, :50]
    disc = (yy - 25) ** 2 + (xx - 25) ** 2 <= 6**2
    rows = []
    for k, malignancy in enumerate((1.5, 4.5)):
        name = f"LIDC-IDRI-000{k}_1_100"
        Image.fromarray(np.where(disc, 200, 40).astype(np.uint8)).save(tmp_path / f"{name}.png")
        Image.fromarray(disc.astype(np.uint8) * 255).save(tmp_path / f"{name}_union.png")
        rows.append({"image": f"{name}.png", "mask_union": f"{name}_union.png", "mask_intersection": "",
                     "mask_difference": "", "patient_id": f"LIDC-IDRI-000{k}", "roi": 1, "scan": 100,
                     "volume_mm3": 500.0, "eq_diameter_mm": 9.8, "x_loc": 1, "y_loc": 1, "slice_no": 3,
                     "malignancy_mean": malignancy})
    with open(tmp_path / "nodules.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path


def _check(samples):
    assert samples
    for s in samples:
        assert s.image.spacing_known is False and s.image.affine is None
        out, notes = measure(("nodule_diameter_mm", "nodule_volume_mm3"), None, s.image.to_grey(),
                             s.image.spacing, spacing_known=s.image.spacing_known)
        assert out and all(k.endswith(("_px", "_px2")) for k in out) and NO_SPACING_NOTE in notes


def test_lidc_crops_have_unknown_spacing(tmp_path):
    _check(LidcCropsSource(_folder(tmp_path)).load("lung"))


def test_lidc_mirror_crops_have_unknown_spacing(mirror):
    _check(LidcCropsSource(mirror / "lung_nodule_ct/lidc_crops").load("lung", limit=4))

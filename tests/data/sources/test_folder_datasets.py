"""MSD Task04, Sunnybrook and GasHisSDB layouts on tiny files; MSD download on localhost."""

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medlearn.data.sources import decathlon, get_source
from medlearn.data.sources.decathlon import DecathlonHippocampusSource
from medlearn.data.sources.archives import extract_nested
from medlearn.data.sources.gashissdb import GasHisSdbSource
from medlearn.data.sources.sunnybrook import SunnybrookSource, contour_mask
from medlearn.errors import DatasetUnavailableError, MedlearnInputError



def _msd(root, nifti, n=3):
    for i in range(1, n + 1):
        label = np.zeros((6, 7, 5)); label[1:3, 1:3, 1:3] = 1; label[3:5, 3:5, 2:4] = 2
        nifti(root / "imagesTr" / f"hippocampus_{i:03d}.nii.gz", np.full((6, 7, 5), 50.0))
        nifti(root / "labelsTr" / f"hippocampus_{i:03d}.nii.gz", label, dtype=np.float32)
    (root / "imagesTr" / "._hippocampus_001.nii.gz").write_bytes(b"macOS resource fork")


def test_msd_layout_casts_float_labels_and_skips_dot_files(tmp_path, nifti):
    _msd(tmp_path / "Task04_Hippocampus", nifti)
    samples = DecathlonHippocampusSource(tmp_path).load("hippocampus")
    assert len(samples) == 3 and samples[0].id == "hippocampus_001"
    assert samples[0].mask.dtype == np.uint8 and set(np.unique(samples[0].mask)) == {0, 1, 2}
    assert samples[0].mask.shape == samples[0].image.spatial_shape and samples[0].image.spatial_dims == 3


def test_msd_fetch_downloads_and_extracts(tmp_path, nifti, no_mirror, monkeypatch, http_server):
    monkeypatch.delenv("MEDLEARN_DOWNLOAD_BASE", raising=False)  # the official address, patched below
    _msd(tmp_path / "src" / "Task04_Hippocampus", nifti, n=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(tmp_path / "src" / "Task04_Hippocampus", arcname="Task04_Hippocampus")
    data = buf.getvalue()
    source = get_source("msd_hippocampus")
    with http_server({"/Task04_Hippocampus.tar": data}) as (url, _):
        where = (f"{url}/Task04_Hippocampus.tar", hashlib.md5(data).hexdigest())
        monkeypatch.setattr(decathlon, "resource", lambda: where)
        source.fetch()
    assert source.availability() == "data home" and len(source.load("hippocampus")) == 2


def _dicom(path, trigger, location):
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.TriggerTime, ds.SliceLocation, ds.SliceThickness = trigger, location, 8
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path)


def test_sunnybrook_layout_phases_and_masks(tmp_path):
    root = tmp_path / "sb"
    contours = root / "contourfiles" / "SC-N-1"
    (contours / "o-contours").mkdir(parents=True)
    (contours / "i-contours").mkdir()
    (root / "link.csv").write_text("patient_id,original_id\nP1,SC-N-1\n")
    square = lambda a, b: "\n".join(f"{x} {y}" for x, y in ((a, a), (b, a), (b, b), (a, b)))  # noqa: E731
    for number, trigger, (a, b) in ((20, 700.0, (20, 44)), (29, 300.0, (26, 38))):
        _dicom(root / "dicoms" / "P1" / f"{number}.dcm", trigger, -10.0)
        (contours / "i-contours" / f"IM-0001-{number:04d}-icontour-manual.txt").write_text(square(a, b))
    (contours / "o-contours" / "IM-0001-0020-ocontour-manual.txt").write_text(square(14, 50))
    ed, es = SunnybrookSource(tmp_path).load("heart")
    assert (ed.meta["phase"], es.meta["phase"]) == ("ED", "ES")
    assert ed.meta["trigger_time_ms"] == 700.0
    assert ed.meta["labelled"] == [0, 1, 2] and es.meta["labelled"] == [0, 1]
    assert (ed.mask == 1).sum() == 25 * 25 and (ed.mask == 2).sum() == 37 * 37 - 25 * 25  # vertices included
    assert not (es.mask == 2).any() and ed.image.spacing == pytest.approx((0.3125, 0.3125))
    bad = contours / "i-contours" / "IM-0001-0029-icontour-manual.txt"
    bad.write_text("not numbers")
    with pytest.raises(MedlearnInputError, match="x y"):
        SunnybrookSource(tmp_path).load("heart")


def test_contour_mask_uses_x_as_column():
    inside = contour_mask(np.array([[2, 0], [5, 0], [5, 1], [2, 1]], float), (4, 8))
    assert inside[0, 2:5].all() and not inside[2:, :].any()


def _tiles(root, png):
    for size in (80, 120):
        for cls in ("Normal", "Abnormal"):
            for i in range(2):
                png(root / str(size) / cls / f"{cls[0]}{i}.png", np.full((size // 8, size // 8, 3), 90 + i))


def test_gashissdb_layout_sizes_and_tile_labels(tmp_path, png):
    _tiles(tmp_path / "GasHisSDB", png)
    source = GasHisSdbSource(tmp_path)
    samples = source.load("gastric")
    assert len(samples) == 4 and {s.meta["tile_size"] for s in samples} == {120}
    assert sorted(s.label for s in samples) == [0, 0, 1, 1] and all(s.mask is None for s in samples)
    assert samples[0].image.modality == "SM" and samples[0].meta["weak_label"]
    assert len(source.load("gastric", size=80, limit=3)) == 3
    with pytest.raises(MedlearnInputError, match="160"):
        source.load("gastric", size=160)
    counts = {"80/Normal": 2, "80/Abnormal": 2, "120/Normal": 2, "120/Abnormal": 2}
    assert source.counts(source.root()) == counts


def test_gashissdb_unpacks_nested_zips_and_refuses_rar(tmp_path, png):
    _tiles(tmp_path / "src", png)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for p in (tmp_path / "src").rglob("*.png"):
            zf.write(p, p.relative_to(tmp_path / "src"))
    with zipfile.ZipFile(tmp_path / "outer.zip", "w") as zf:
        zf.writestr("GasHisSDB.zip", inner.getvalue())
    extract_nested(tmp_path / "outer.zip", tmp_path / "out", "gashissdb")
    assert GasHisSdbSource(tmp_path / "out").load("gastric", limit=1)
    with zipfile.ZipFile(tmp_path / "rar.zip", "w") as zf:
        zf.writestr("GasHisSDB.rar", b"Rar!")
    with pytest.raises(DatasetUnavailableError, match="by hand|7-Zip"):
        extract_nested(tmp_path / "rar.zip", tmp_path / "out2", "gashissdb")


def test_msd_resource_comes_from_monai():
    url, md5 = decathlon.resource()
    assert url.endswith("Task04_Hippocampus.tar") and md5 == "9d24dba78a72977dbd1d2e110310f31b"


def test_damaged_archive_is_a_clear_error(tmp_path):
    (tmp_path / "bad.tar").write_bytes(b"not an archive at all")
    with pytest.raises(DatasetUnavailableError, match="not a zip or tar"):
        extract_nested(tmp_path / "bad.tar", tmp_path / "out", "msd_hippocampus")


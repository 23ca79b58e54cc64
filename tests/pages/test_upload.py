"""'Try your own image': good PNG, NIfTI and DICOM uploads, a corrupt file, and case matching."""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from medlearn.data.image import MedImage
from ui.predict.upload import suggest_case


def png_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 50), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def nifti_bytes(tmp_path) -> bytes:
    volume = np.random.default_rng(0).normal(100, 20, (12, 14, 10)).astype(np.float32)
    path = tmp_path / "brain.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.diag([1.0, 1.0, 1.5, 1.0])), path)
    return path.read_bytes()


def upload(at, files):
    at.file_uploader(key="upload.widget").set_value(files).run()
    return at


def test_png_upload_is_described_and_shown(open_page, assert_clean):
    at = upload(open_page("try_your_own"), ("photo.png", png_bytes(), "image/png"))
    assert_clean(at)
    assert not at.error
    facts = at.dataframe[0].value
    assert "png" in facts["value"].tolist()[0] and "40 × 50" in facts["value"].tolist()[1]
    assert len(at.get("image")) == 1


def test_nifti_volume_shows_three_planes(tmp_path, open_page, assert_clean):
    at = upload(open_page("try_your_own"), ("brain.nii.gz", nifti_bytes(tmp_path), "application/gzip"))
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("image")) == 3  # axial, coronal, sagittal
    at.slider(key="upload.view.axial").set_value(1).run()  # slices count from 1
    assert_clean(at)


def test_dicom_ct_upload_suggests_the_lung_case(open_page, assert_clean):
    pydicom_data = pytest.importorskip("pydicom.data")
    path = pydicom_data.get_testdata_file("CT_small.dcm")  # shipped with pydicom, no network
    at = upload(open_page("try_your_own"), ("slice.dcm", open(path, "rb").read(), "application/dicom"))
    assert_clean(at)
    assert any("Lung" in m.value for m in at.markdown)


def test_corrupt_file_gives_a_clear_error_and_no_exception(open_page, assert_clean):
    at = upload(open_page("try_your_own"), ("scan.dcm", b"this is not a medical image", "application/dicom"))
    assert_clean(at)
    assert at.error and len(at.error[0].value) > 10
    assert not at.get("image")


def test_upload_survives_a_page_switch(open_page, assert_clean):
    at = upload(open_page("try_your_own"), ("photo.png", png_bytes(), "image/png"))
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/try_your_own.py").run()
    assert_clean(at)
    assert len(at.get("image")) == 1
    assert any("earlier upload" in c.value for c in at.caption)


@pytest.mark.parametrize("pixels,modality,expected", [
    (np.zeros((32, 32, 3), np.uint8), "OP", "retina"),
    (np.zeros((32, 32, 3), np.uint8), "SM", "gastric"),
    (np.zeros((32, 32), np.uint8), "US", "breast"),
    (np.zeros((8, 32, 32), np.int16), "CT", "lung"),
    (np.zeros((35, 51, 35), np.float32), "MR", "hippocampus"),
    (np.zeros((10, 128, 128), np.float32), "MR", "heart"),
    (np.zeros((128, 128), np.float32), "MR", "heart"),
])
def test_suggest_case_by_modality_dims_and_colour(pixels, modality, expected):
    assert suggest_case(MedImage(pixels, modality=modality)).case == expected


def test_plain_colour_photo_asks_which_case():
    suggestion = suggest_case(MedImage(np.zeros((32, 32, 3), np.uint8), modality="OT"))
    assert suggestion.case is None and {"retina", "gastric"} <= set(suggestion.candidates)


def test_a_crafted_file_name_is_shown_as_plain_text(open_page, assert_clean):
    """Once seen: a name holding Markdown made the page load an image from another address."""
    name = "![x](http:\u2f2f127.0.0.1:9/p.png) `a` \u202egnp.png"
    at = upload(open_page("try_your_own"), (name, png_bytes(), "image/png"))
    assert_clean(at)
    shown = [c.value for c in at.caption]
    caption = next(c for c in shown if "Your upload" in c)
    assert "\\!\\[x\\]\\(" in caption and "\\`a\\`" in caption  # escaped: no image, no code
    assert "\\\\u202e" in caption and "\u202e" not in caption  # the right-to-left override is visible


def test_a_new_file_starts_a_new_case_suggestion(open_page, assert_clean):
    """Once seen: a brain MRI was answered by the lung model because Lung was picked for the file before."""
    at = upload(open_page("try_your_own"), ("first.png", png_bytes(), "image/png"))
    at.radio(key="upload.case").set_value("lung").run()
    assert at.radio(key="upload.case").value == "lung"
    at = upload(at, ("second.png", png_bytes(seed=1), "image/png"))
    assert_clean(at)
    assert at.radio(key="upload.case").value is None  # asked again, not answered by the lung model


def test_adding_a_second_picture_shows_the_new_one_instead_of_an_error(open_page, assert_clean):
    """Once seen: adding a second file with "+" said "none of the 2 files is a DICOM image"."""
    first = ("first.png", png_bytes(), "image/png")
    at = upload(open_page("try_your_own"), first)
    at = upload(at, [first, ("second.png", png_bytes(seed=1), "image/png")])
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = [c.value.replace("\\", "") for c in at.caption]  # captions are escaped plain text
    assert any("showing the newest, second.png" in c for c in shown)
    assert any("Your upload: second.png" in c for c in shown)


def test_a_large_volume_is_kept_downsampled_and_the_upload_released(open_page, assert_clean):
    """Issue 12, memory: a session keeps a bounded copy of a large upload, not the file twice."""
    from medlearn.data.io.limits import MAX_SESSION_VALUES

    volume = np.random.default_rng(0).normal(0, 1, (40, 384, 384)).astype(np.float32)  # 5.9 M voxels, 23.6 MB
    buffer = io.BytesIO()
    np.save(buffer, np.concatenate([volume, volume]))  # 11.8 M voxels, 47 MB: above the large-file size
    at = upload(open_page("try_your_own"), ("big.npy", buffer.getvalue(), "application/octet-stream"))
    assert_clean(at)
    assert not at.error
    kept = at.session_state["upload.result"]
    assert np.prod(kept.shape) <= MAX_SESSION_VALUES and kept.shape[0] < 80
    assert any("Kept at" in c.value for c in at.caption)  # the note, beside the image
    assert at.session_state["upload.files"] == [("big.npy", b"")]  # no bytes kept for a single picture
    assert any("Showing your earlier upload" in c.value and "big" in c.value for c in at.caption)  # a fresh uploader

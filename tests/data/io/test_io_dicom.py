"""DICOM reader: rescale, windows, series sorting, cine phases, multi-frame, zip, privacy."""

import io
import json
import random
import zipfile

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from medlearn.data.io import read_image
from medlearn.data.io.dicom import parse
from medlearn.data.io.dicom_header import number
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError

SECRETS = ("Doe", "Jane", "PID-424242", "19700101", "Secret Hospital")


def _no_secrets(image):
    text = json.dumps(image.describe())
    assert not any(s in text for s in SECRETS), text


def test_ct_rescale_to_hounsfield(make_dicom):
    stored = np.array([[0, 1000], [24, 2048]], np.int16)
    img = read_image(make_dicom(stored, slope=1, intercept=-1024, spacing=(0.5, 0.6)), "ct.dcm")
    np.testing.assert_allclose(img.pixels, stored - 1024)
    assert img.modality == "CT" and img.format == "dicom" and img.spacing == (0.5, 0.6)
    assert img.meta["RescaleIntercept"] == -1024 and img.meta["SeriesDescription"] == "tiny test series"
    _no_secrets(img)


def test_multi_valued_windows(make_dicom):
    img = read_image(make_dicom(np.zeros((4, 4)), center=[-600, 40], width=[1500, 400]), "w.dcm")
    assert [(w.center, w.width) for w in img.windows] == [(-600, 1500), (40, 400)]
    assert img.window == img.windows[0]


def test_patient_name_never_leaks(make_dicom, tmp_path):
    path = tmp_path / "IM0001"  # no extension: found by content
    path.write_bytes(make_dicom(np.ones((3, 3)), modality="MR"))
    img = read_image(path)
    _no_secrets(img)
    assert not any(k.startswith("Patient") for k in img.meta)


def _series(make_dicom, n=3, gap=2.5, **kw):
    files = [(f"slice{k}.dcm", make_dicom(np.full((4, 5), k * 10), position=(0, 0, k * gap),
                                          instance=n - k, slope=1, intercept=-100, **kw)) for k in range(n)]
    random.Random(0).shuffle(files)
    return files


def test_shuffled_series_sorted_by_position(make_dicom):
    img = read_image(_series(make_dicom))
    assert img.shape == (3, 4, 5) and img.spacing == (2.5, 0.7, 0.8)
    assert [float(img.pixels[z, 0, 0]) for z in range(3)] == [-100, -90, -80]  # sorted by z, not instance
    assert img.orientation == "LPS" and img.meta["sorted_by"] == "ImagePositionPatient"
    _no_secrets(img)


def test_series_without_positions_uses_instance_number(make_dicom):
    files = [(f"{k}.dcm", make_dicom(np.full((2, 2), k), instance=k, orientation=None)) for k in (3, 1, 2)]
    img = read_image(files)
    assert [int(img.pixels[z, 0, 0]) for z in range(3)] == [1, 2, 3]
    assert img.meta["sorted_by"] == "InstanceNumber"


def test_cine_phases_picked_by_volume_index(make_dicom):
    files = []
    for z in range(3):
        for phase, t in enumerate((20.0, 400.0)):
            files.append((f"{z}_{phase}.dcm", make_dicom(np.full((3, 3), 100 * phase + z), position=(0, 0, 10 * z),
                                                        trigger=t, instance=z * 2 + phase)))
    random.Random(1).shuffle(files)
    ed = read_image(files)
    es = read_image(files, volume_index=1)
    assert ed.meta["phases"] == 2 and ed.shape == (3, 3, 3) and ed.spacing[0] == 10.0
    assert [int(v) for v in ed.pixels[:, 0, 0]] == [0, 1, 2] and [int(v) for v in es.pixels[:, 0, 0]] == [100, 101, 102]
    assert es.meta["trigger_times_ms"] == [400.0] * 3


def test_multiframe_file(make_dicom):
    frames = np.arange(3 * 4 * 4).reshape(3, 4, 4)
    img = read_image(make_dicom(frames, frames=True), "mf.dcm")
    assert img.shape == (3, 4, 4) and img.spacing == (2.5, 0.7, 0.8) and img.meta["NumberOfFrames"] == 3
    np.testing.assert_array_equal(img.pixels, frames)


def _zip(members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_of_series(make_dicom):
    data = _zip(_series(make_dicom) + [("README.txt", b"notes"), ("__MACOSX/._x", b"junk")])
    img = read_image(data, "series.zip")
    assert img.shape == (3, 4, 5) and img.meta["skipped_files"] == 1


def test_zip_without_dicom():
    with pytest.raises(MedlearnInputError, match="none of the 2 files is a DICOM"):
        read_image(_zip([("a.txt", b"hello"), ("b.txt", b"world")]), "stuff.zip")


def test_zip_bomb_refused():
    with pytest.raises(MedlearnInputError, match="zip bomb"):
        read_image(_zip([("big.dcm", b"\0" * (3 * 2**20))]), "bomb.zip")


def test_structured_report_has_no_image(sr_dicom):
    with pytest.raises(MedlearnInputError, match="holds no image.*Text SR"):
        read_image(sr_dicom, "report.dcm")


def test_unsupported_codec_is_named(jpegls_dicom):
    with pytest.raises(MedlearnInputError, match=r"compressed as JPEG-LS Lossless Image Compression "
                                                 r"\(1\.2\.840\.10008\.1\.2\.4\.80\): no decoder installed here "
                                                 r"\(needs one of: gdcm"):
        read_image(jpegls_dicom, "compressed.dcm")


def test_compressed_data_that_will_not_decode_is_called_damaged_naming_the_transfer_syntax(make_dicom):
    """Once seen: 'damaged (RuntimeError)', without the transfer syntax or what went wrong."""
    from pydicom.uid import RLELossless

    with pytest.raises(MedlearnInputError, match=r"compressed as RLE Lossless \(1\.2\.840\.10008\.1\.2\.5\) and "
                                                 r"the installed decoder cannot decode them: the compressed data is "
                                                 r"damaged or truncated \(.*RLE header") as caught:
        read_image(make_dicom(np.zeros((4, 4)), transfer_syntax=RLELossless), "rle.dcm")
    assert "\n" not in str(caught.value)


def test_uncompressed_pixel_data_cut_short_says_so(make_dicom):
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(make_dicom(np.arange(64).reshape(8, 8))))
    ds.PixelData = ds.PixelData[:-40]
    buf = io.BytesIO()
    ds.save_as(buf)
    with pytest.raises(MedlearnInputError, match=r"pixel data is damaged or incomplete \(The number of bytes of pixel "
                                                 r"data is less than expected"):
        read_image(buf.getvalue(), "short.dcm")


def test_preambleless_and_truncated(make_dicom):
    data = make_dicom(np.arange(64).reshape(8, 8), preamble=False)
    assert read_image(data, "old").shape == (8, 8)
    with pytest.raises(MedlearnInputError, match="damaged|truncated"):
        read_image(make_dicom(np.arange(64).reshape(8, 8))[:-40], "cut.dcm")


def test_mixed_sizes_refused(make_dicom):
    files = [("a.dcm", make_dicom(np.zeros((4, 4)), position=(0, 0, 0))),
             ("b.dcm", make_dicom(np.zeros((5, 5)), position=(0, 0, 1)))]
    with pytest.raises(MedlearnInputError, match="same size"):
        read_image(files)


@pytest.mark.parametrize("name, modality, shape", [("CT_small.dcm", "CT", (128, 128)), ("MR_small.dcm", "MR", (64, 64))])
def test_pydicom_shipped_files(name, modality, shape):
    img = read_image(get_testdata_file(name))
    assert img.modality == modality and img.shape == shape
    if modality == "CT":
        assert img.pixels.min() < -500  # air in Hounsfield units after RescaleIntercept -1024
    assert "PatientName" not in json.dumps(img.describe())


def test_identifiers_never_parsed(make_dicom):
    ds = parse(Blob("x.dcm", raw=make_dicom(np.ones((3, 3)), center=40, width=400)))
    assert "PixelData" in ds and "WindowCenter" in ds
    assert not any(k in ds for k in ("PatientName", "PatientID", "PatientBirthDate", "InstitutionName"))


@pytest.mark.parametrize("raw", [b"1.5 ", b"-1024", b"40\\-600", b"1e2 ", b" 7", b"1.5\x00", b"x1", b"1\\",
                                 b"  "])
def test_number_reads_ds_like_pydicom(raw):
    tag = Tag("WindowCenter")

    def fresh():
        ds = Dataset()
        ds[tag] = RawDataElement(tag, "DS", len(raw), raw, 0, False, True)  # as read, not yet converted
        return ds

    try:
        expected = fresh()[tag].value
    except Exception as exc:  # pydicom refuses it: so must number()
        with pytest.raises(type(exc)):
            number(fresh(), tag)
        return
    got = number(fresh(), tag)
    if isinstance(expected, (list, tuple)) or type(expected).__name__ == "MultiValue":
        assert list(got) == list(expected)
    else:
        assert got == expected


@pytest.mark.parametrize("slope", ["0", "NaN"])
def test_a_zero_or_nan_rescale_slope_is_corrected_and_said(make_dicom, slope):
    """Once seen: RescaleSlope 0 gave a flat image and a confident prediction (malignant, 1.0)."""
    from medlearn.data.io import read_image

    pixels = np.arange(64, dtype=np.int16).reshape(8, 8) * 10
    image = read_image(make_dicom(pixels, slope=slope, intercept="-5"), "flat.dcm")
    assert np.ptp(image.pixels) > 0 and float(image.pixels.min()) == -5.0  # stored values, slope 1
    assert any("RescaleSlope" in n and "slope 1" in n for n in image.meta["notes"])


def test_monochrome1_is_inverted_to_monochrome2_for_a_file_and_a_series(make_dicom):
    """Once seen: MONOCHROME1 files were shown and predicted with bright and dark swapped."""
    from medlearn.data.io import read_image

    pixels = np.arange(64, dtype=np.int16).reshape(8, 8)
    one = read_image(make_dicom(pixels, photometric="MONOCHROME1", center=10, width=20), "m1.dcm")
    np.testing.assert_array_equal(one.pixels, 63 - pixels)  # low stored values (white) are now high
    assert any("MONOCHROME1" in n for n in one.meta["notes"]) and one.window.name == "auto"
    files = [(f"s{z}.dcm", make_dicom(pixels + 10 * z, photometric="MONOCHROME1", position=(0, 0, 2.5 * z),
                                      instance=z + 1)) for z in range(3)]
    vol = read_image(files)
    assert vol.pixels.shape == (3, 8, 8) and float(vol.pixels.max()) == 83 and float(vol.pixels.min()) == 0
    np.testing.assert_array_equal(vol.pixels[2], 83 - (pixels + 20))  # one range for the whole volume

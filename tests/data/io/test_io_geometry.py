"""Geometry kept from file to file: the readers' affine, the writers' overlay, unknown spacing.

A mask saved from an image must overlay that image in a NIfTI viewer: same affine as the
input file, and each labelled voxel at the world position of the voxel it labels.
"""

import json
import random
import struct

import nibabel as nib
import numpy as np
import pydicom
import pytest
from nibabel.affines import apply_affine
from PIL import Image

from medlearn.data.image import MedImage
from medlearn.data.io import read_image, save_image, save_mask

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
BRIGHT = 500


def _rotation(ax: float, az: float) -> np.ndarray:
    a, z = np.deg2rad(ax), np.deg2rad(az)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ rx


def _affine(rot: np.ndarray, perm: np.ndarray, zooms, origin) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = rot @ perm @ np.diag(zooms)
    out[:3, 3] = origin
    return out


# oblique (12 deg about z, 7 about x), anisotropic, origin far from 0, closest to RAS
NEAR_RAS = _affine(_rotation(7, 12), np.eye(3), (0.9, 1.3, 2.5), (-40.5, 22.25, 13.0))
# the same obliquity on permuted, flipped axes: i -> posterior, j -> superior, k -> left
PERMUTED = _affine(_rotation(7, 12), np.array([[0, 0, -1], [-1, 0, 0], [0, 1, 0]]), (0.9, 1.3, 2.5),
                   (61.0, -17.5, -88.0))


def _volume(shape=(7, 9, 11)) -> np.ndarray:
    """Noise below 100 and one bright, off-centre block (file order (i, j, k))."""
    data = np.random.default_rng(4).integers(0, 100, shape).astype(np.int16)
    data[1:3, 5:8, 2:4] = 1000
    data[5, 1, 9] = 1200
    return data


def _sorted(points: np.ndarray) -> np.ndarray:
    """Points in a fixed order, so two sets compare row by row."""
    points = np.asarray(points, dtype=np.float64)
    return points[np.lexsort(np.round(points, 3).T[::-1])]


def _world(affine: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """World coordinates of a mask's voxels, sorted."""
    return _sorted(apply_affine(affine, np.argwhere(mask)))


def _nifti_path(tmp_path, affine, name="in.nii.gz", data=None):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(_volume() if data is None else data, affine), str(path))
    return path


@pytest.mark.parametrize("affine", [NEAR_RAS, PERMUTED], ids=["oblique-near-RAS", "oblique-permuted"])
def test_nifti_affine_describes_the_reoriented_array(tmp_path, affine):
    path = _nifti_path(tmp_path, affine)
    source = nib.load(str(path))
    image = read_image(path)
    assert image.spacing_known and image.orientation == "RAS"
    # the reader's affine maps MedLearn's (z, y, x) indices where the file puts the same voxels
    np.testing.assert_allclose(_world(image.affine, image.pixels > BRIGHT),
                               _world(source.affine, np.asarray(source.dataobj) > BRIGHT), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(image.affine[:3, :3], axis=0), image.spacing, atol=1e-5)
    json.dumps(image.describe())
    assert len(image.describe()["affine"]) == 4 and image.describe()["spacing_known"] is True


@pytest.mark.parametrize("affine", [NEAR_RAS, PERMUTED], ids=["oblique-near-RAS", "oblique-permuted"])
def test_nifti_mask_and_map_overlay_their_image(tmp_path, affine):
    path = _nifti_path(tmp_path, affine)
    source = nib.load(str(path))
    image = read_image(path)
    bright = (image.pixels > BRIGHT).astype(np.uint8)

    saved = nib.load(str(save_mask(bright, image, tmp_path / "mask.nii.gz")))
    np.testing.assert_allclose(saved.affine, source.affine, atol=1e-4)
    assert saved.shape == source.shape  # written back in the file's own axis order
    np.testing.assert_array_equal(np.asarray(saved.dataobj), np.asarray(source.dataobj) > BRIGHT)
    np.testing.assert_allclose(_world(saved.affine, np.asarray(saved.dataobj) > 0),
                               _world(source.affine, np.asarray(source.dataobj) > BRIGHT), atol=1e-4)
    assert int(saved.header["qform_code"]) > 0 and int(saved.header["sform_code"]) > 0
    np.testing.assert_allclose(saved.header.get_qform(), source.affine, atol=1e-4)

    heat = image.with_pixels(image.pixels.astype(np.float32) / 1200, window=None)
    shown = nib.load(str(save_image(heat, tmp_path / "map.nii.gz")))
    np.testing.assert_allclose(shown.affine, source.affine, atol=1e-4)
    np.testing.assert_allclose(np.asarray(shown.dataobj), np.asarray(source.dataobj) / 1200, atol=1e-6)

    again = read_image(tmp_path / "mask.nii.gz")  # and MedLearn reads it back onto the image
    np.testing.assert_array_equal(again.pixels, bright)
    np.testing.assert_allclose(again.affine, image.affine, atol=1e-4)


def test_nifti_in_metres_gives_an_affine_in_mm(tmp_path):
    img = nib.Nifti1Image(_volume(), _affine(np.eye(3), np.eye(3), (0.001, 0.002, 0.003), (0.1, -0.2, 0.05)))
    img.header.set_xyzt_units("meter")
    nib.save(img, str(tmp_path / "m.nii"))
    image = read_image(tmp_path / "m.nii")
    assert image.spacing == pytest.approx((3.0, 2.0, 1.0))
    np.testing.assert_allclose(image.affine[:3, 3], (100.0, -200.0, 50.0), atol=1e-3)
    saved = nib.load(str(save_mask(image.pixels > BRIGHT, image, tmp_path / "mask.nii")))
    np.testing.assert_allclose(saved.affine[:3], img.affine[:3] * 1000, atol=1e-3)  # written in mm


def test_msd_hippocampus_mask_overlays_the_volume(mirror, tmp_path):
    files = sorted((mirror / "hippocampus_mri/msd_task04/imagesTr").glob("hippocampus_*.nii.gz"))
    if not files:
        pytest.skip("no MSD Task04 volume in the mirror")
    source = nib.load(str(files[0]))
    image = read_image(files[0])
    bright = image.pixels > np.percentile(image.pixels, 95)
    saved = nib.load(str(save_mask(bright.astype(np.uint8), image, tmp_path / "mask.nii.gz")))
    np.testing.assert_allclose(saved.affine, source.affine, atol=1e-5)
    data = np.asarray(source.dataobj)
    expected = data > np.percentile(data, 95)
    assert expected.any()
    np.testing.assert_array_equal(np.asarray(saved.dataobj) > 0, expected)
    np.testing.assert_allclose(_world(saved.affine, np.asarray(saved.dataobj) > 0), _world(source.affine, expected))


def _patch_header(raw: bytes, **fields) -> bytes:
    """Write raw NIfTI-1 header fields (nibabel would 'fix' them on saving)."""
    buf = bytearray(raw)
    offsets = {"pixdim1": (80, "<f"), "pixdim2": (84, "<f"), "pixdim3": (88, "<f"), "qform_code": (252, "<h"),
               "sform_code": (254, "<h")}
    for name, value in fields.items():
        offset, fmt = offsets[name]
        struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


@pytest.mark.parametrize("bad", [0.0, -1.3, float("nan"), float("inf")])
def test_bad_nifti_voxel_size_is_unknown_spacing_with_a_note(bad):
    img = nib.Nifti1Image(_volume(), np.diag([1.3, 0.9, 2.5, 1.0]))  # sform only (nibabel's default)
    image = read_image(_patch_header(img.to_bytes(), pixdim2=bad), "bad.nii")
    assert image.spacing_known is False
    assert image.spacing == pytest.approx((2.5, 1.0, 1.3))  # (sz, sy, sx): the bad j axis gets 1 mm
    assert any("voxel sizes" in n and "pixels" in n for n in image.meta["notes"])
    np.testing.assert_allclose(image.affine[:3, :3], np.diag([1.3, 0.9, 2.5])[:, ::-1])  # (z, y, x) columns; sform places it


def test_nifti_with_an_unusable_affine_still_reads():
    img = nib.Nifti1Image(_volume(), np.diag([1.3, 0.9, 2.5, 1.0]))
    img.set_qform(img.affine, code=1)
    raw = _patch_header(img.to_bytes(), pixdim1=float("nan"), sform_code=0)  # qform from a NaN size
    image = read_image(raw, "nan.nii")
    assert image.affine is None and image.spacing_known is False and image.spacing[2] == 1.0
    assert any("affine is not usable" in n for n in image.meta["notes"])
    np.testing.assert_array_equal(image.pixels, _volume().T)


# DICOM: 4 oblique slices, anisotropic pixels, an origin far from 0

ROW = np.array([np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20)), 0.0]).round(6)
COL = np.array([-np.sin(np.deg2rad(20)) * np.cos(np.deg2rad(15)), np.cos(np.deg2rad(20)) * np.cos(np.deg2rad(15)),
                np.sin(np.deg2rad(15))]).round(6)
NORMAL = np.cross(ROW, COL)
ORIGIN = np.array([-120.5, 33.25, 410.0])
PIXEL = (0.7, 0.8)  # (row spacing sy, column spacing sx)
STEP = 2.5


def _positions(n=4) -> list[np.ndarray]:
    return [(ORIGIN + k * STEP * NORMAL).round(4) for k in range(n)]


def _oblique_series(make_dicom, n=4):
    files = []
    for k, pos in enumerate(_positions(n)):
        pixels = np.full((5, 6), 10 * k, np.int16)
        pixels[1, 3] = 900 + k  # one bright voxel per slice, off-centre
        files.append((f"{k}.dcm", make_dicom(pixels, position=tuple(pos), orientation=(*ROW, *COL),
                                             spacing=PIXEL, instance=n - k)))
    random.Random(2).shuffle(files)
    return files


def _expected_world(z: int, y: int, x: int) -> np.ndarray:
    lps = _positions()[z] + x * PIXEL[1] * ROW + y * PIXEL[0] * COL
    return (LPS_TO_RAS @ np.append(lps, 1.0))[:3]


def test_dicom_series_affine_from_the_header(make_dicom):
    image = read_image(_oblique_series(make_dicom))
    assert image.shape == (4, 5, 6) and image.spacing_known
    assert image.spacing == pytest.approx((STEP, *PIXEL), abs=1e-3)
    first_ras = LPS_TO_RAS @ np.append(_positions()[0], 1.0)
    np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], first_ras, atol=1e-3)  # voxel 0 = first slice's IPP
    for z, y, x in [(0, 0, 5), (3, 4, 0), (2, 1, 3)]:
        np.testing.assert_allclose(apply_affine(image.affine, [z, y, x]), _expected_world(z, y, x), atol=1e-3)
    assert [int(image.pixels[z, 1, 3]) for z in range(4)] == [900, 901, 902, 903]


def test_dicom_series_mask_lands_on_its_voxels(make_dicom, tmp_path):
    image = read_image(_oblique_series(make_dicom))
    mask = (image.pixels > BRIGHT).astype(np.uint8)
    saved = nib.load(str(save_mask(mask, image, tmp_path / "mask.nii.gz")))
    expected = _sorted([_expected_world(z, 1, 3) for z in range(4)])
    np.testing.assert_allclose(_world(saved.affine, np.asarray(saved.dataobj) > 0), expected, atol=1e-3)
    # the NIfTI written from DICOM reads back onto the same world positions
    back = read_image(tmp_path / "mask.nii.gz")
    np.testing.assert_allclose(_world(back.affine, back.pixels > 0), expected, atol=1e-3)


def test_single_dicom_slice_has_a_plane_affine(make_dicom):
    pixels = np.zeros((5, 6), np.int16)
    image = read_image(make_dicom(pixels, position=tuple(ORIGIN), orientation=(*ROW, *COL), spacing=PIXEL), "s.dcm")
    assert image.spatial_dims == 2 and image.spacing_known and image.spacing == PIXEL
    for y, x in [(0, 0), (4, 5), (2, 1)]:
        lps = ORIGIN + x * PIXEL[1] * ROW + y * PIXEL[0] * COL
        np.testing.assert_allclose(image.affine @ [y, x, 0, 1], LPS_TO_RAS @ np.append(lps, 1), atol=1e-4)
    assert abs(np.linalg.det(image.affine[:3, :3])) > 0  # the third column (normal) keeps it invertible


def test_multiframe_affine_steps_along_the_normal(make_dicom):
    frames = np.zeros((3, 4, 4), np.int16)
    image = read_image(make_dicom(frames, frames=True, position=tuple(ORIGIN), orientation=(*ROW, *COL)), "mf.dcm")
    assert image.spacing_known and image.spacing[0] == 2.5
    lps = ORIGIN + 2 * 2.5 * NORMAL
    np.testing.assert_allclose(image.affine @ [2, 0, 0, 1], LPS_TO_RAS @ np.append(lps, 1), atol=1e-4)


def _without_spacing(data: bytes, value=None) -> bytes:
    import io

    ds = pydicom.dcmread(io.BytesIO(data))
    if value is None:
        del ds.PixelSpacing
    else:
        ds.PixelSpacing = value
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore:Invalid value for VR DS")
@pytest.mark.parametrize("value, words", [(None, "no pixel spacing"), ([0, 0.8], "zero, negative"),
                                          ([-0.7, 0.8], "zero, negative"), (["NaN", 0.8], "zero, negative")])
def test_dicom_without_a_usable_pixel_spacing(make_dicom, value, words):
    data = _without_spacing(make_dicom(np.zeros((4, 5)), position=(1, 2, 3)), value)
    image = read_image(data, "s.dcm")
    assert image.spacing_known is False and image.spacing == (1.0, 1.0)
    assert any(words in n for n in image.meta["notes"])
    assert image.describe()["spacing_known"] is False


def test_dicom_series_with_unusable_spacing_says_so(make_dicom):
    files = [(n, _without_spacing(d, [0, 0])) for n, d in _oblique_series(make_dicom)]
    image = read_image(files)
    assert image.spacing_known is False and image.spacing[1:] == (1.0, 1.0)
    assert any("zero, negative" in n for n in image.meta["notes"])


def test_series_without_positions_or_thickness_has_unknown_slice_spacing(make_dicom):
    files = [(f"{k}.dcm", make_dicom(np.full((2, 2), k), instance=k, orientation=None)) for k in (1, 2, 3)]
    image = read_image(files)
    assert image.affine is None and image.spacing_known is False
    assert any("between slices" in n for n in image.meta["notes"])


# formats without physical geometry

def test_pictures_and_arrays_have_no_geometry(tmp_path):
    Image.fromarray(np.zeros((6, 7), np.uint8)).save(tmp_path / "p.png")
    Image.fromarray(np.zeros((6, 7, 3), np.uint8)).save(tmp_path / "p.jpg")
    np.save(tmp_path / "a.npy", np.zeros((3, 6, 7), np.float32))
    for name in ("p.png", "p.jpg", "a.npy"):
        image = read_image(tmp_path / name)
        assert image.affine is None and image.spacing_known is False, name
        assert "affine" not in image.describe() and image.describe()["spacing_known"] is False


def test_mask_of_an_image_without_affine_matches_its_saved_image(tmp_path):
    phantom = MedImage(np.arange(60, dtype=np.float32).reshape(3, 4, 5), spacing=(2.0, 1.0, 0.5), modality="MR",
                       orientation="SAR")
    image_file = nib.load(str(save_image(phantom, tmp_path / "i.nii.gz")))
    mask_file = nib.load(str(save_mask(np.ones((3, 4, 5), np.uint8), phantom, tmp_path / "m.nii.gz")))
    np.testing.assert_allclose(mask_file.affine, image_file.affine)
    assert mask_file.shape == image_file.shape


def test_save_mask_refuses_a_mask_of_another_shape(tmp_path):
    from medlearn.errors import MedlearnInputError

    with pytest.raises(MedlearnInputError, match="does not match"):
        save_mask(np.zeros((2, 3, 4)), MedImage(np.zeros((2, 3, 5)), modality="MR"), tmp_path / "m.nii.gz")


def test_enhanced_multiframe_uses_per_frame_positions(make_dicom):
    import io

    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(io.BytesIO(make_dicom(np.zeros((3, 4, 4)), frames=True, orientation=(*ROW, *COL))))
    del ds.SpacingBetweenSlices
    items = []
    for k in range(3):
        plane, item = Dataset(), Dataset()
        plane.ImagePositionPatient = [round(float(v), 4) for v in ORIGIN + k * 4.0 * NORMAL]
        item.PlanePositionSequence = Sequence([plane])
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    image = read_image(out.getvalue(), "enhanced.dcm")
    assert image.spacing_known and image.spacing[0] == pytest.approx(4.0, abs=1e-3)
    for k in range(3):
        np.testing.assert_allclose(image.affine @ [k, 0, 0, 1], LPS_TO_RAS @ np.append(ORIGIN + k * 4.0 * NORMAL, 1),
                                   atol=1e-3)


def test_multiframe_without_slice_spacing_is_unknown(make_dicom):
    import io

    ds = pydicom.dcmread(io.BytesIO(make_dicom(np.zeros((3, 4, 4)), frames=True)))
    del ds.SpacingBetweenSlices
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    image = read_image(out.getvalue(), "mf.dcm")
    assert image.spacing_known is False and image.spacing == (1.0, 0.7, 0.8)
    assert any("between the frames" in n for n in image.meta["notes"])

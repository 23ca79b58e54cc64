"""NIfTI reader: canonical RAS reorientation, (Z, Y, X) order, spacing, 4D, gzip, bombs."""

import gzip
import io

import nibabel as nib
import numpy as np
import pytest

from medlearn.data.io import read_image
from medlearn.errors import MedlearnInputError

# voxel axis i -> -z (3 mm), j -> +x (2 mm), k -> -y (1.5 mm): far from canonical
ODD_AFFINE = np.array([[0, 2.0, 0, 10], [0, 0, -1.5, 5], [-3.0, 0, 0, 1], [0, 0, 0, 1]])


def _nii_bytes(img) -> bytes:
    return img.to_bytes()


def test_non_canonical_affine_is_reoriented(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    img = nib.Nifti1Image(data, ODD_AFFINE)
    path = tmp_path / "odd.nii.gz"
    nib.save(img, path)
    out = read_image(path)
    canon = nib.as_closest_canonical(nib.load(path))
    assert nib.aff2axcodes(canon.affine) == ("R", "A", "S")
    assert out.shape == canon.shape[::-1]  # (Z, Y, X) = transpose of canonical (X, Y, Z)
    np.testing.assert_array_equal(out.pixels, np.asarray(canon.dataobj).T)
    assert out.spacing == (3.0, 1.5, 2.0)  # (sz, sy, sx) follows the array axes
    assert out.orientation == "RAS" and out.format == "nifti" and out.pixels.dtype == np.int16
    assert out.meta["original_orientation"] == "".join(nib.aff2axcodes(ODD_AFFINE))
    assert out.pixels.flags.c_contiguous


def test_gz_and_plain_bytes_agree():
    img = nib.Nifti1Image(np.random.default_rng(0).random((3, 4, 5)).astype(np.float32), np.diag([1, 2, 3, 1]))
    raw = img.to_bytes()
    plain = read_image(raw, "v.nii")
    zipped = read_image(gzip.compress(raw), "v.nii.gz")
    np.testing.assert_array_equal(plain.pixels, zipped.pixels)
    assert plain.spacing == zipped.spacing == (3.0, 2.0, 1.0)
    assert plain.shape == (5, 4, 3)


def test_4d_volume_index():
    data = np.stack([np.full((3, 4, 5), t, np.int16) for t in range(3)], axis=-1)
    raw = gzip.compress(nib.Nifti1Image(data, np.eye(4)).to_bytes())
    first = read_image(raw, "fmri.nii.gz")
    assert first.shape == (5, 4, 3) and first.meta["volumes"] == 3 and first.meta["volume_index"] == 0
    third = read_image(raw, "fmri.nii.gz", volume_index=2)
    assert (third.pixels == 2).all() and "showing volume 2 of 3" in third.reading_notes()[0]
    with pytest.raises(MedlearnInputError, match="holds 3"):
        read_image(raw, "fmri.nii.gz", volume_index=3)


def test_scaled_and_unit_meters():
    img = nib.Nifti1Image(np.ones((2, 3, 4), np.int16), np.diag([0.001, 0.002, 0.003, 1]))
    img.header.set_slope_inter(0.5, 10)
    img.header.set_xyzt_units("meter")
    out = read_image(img.to_bytes(), "scaled.nii")
    assert np.allclose(out.pixels, 10.5) and out.pixels.dtype == np.float32
    assert np.allclose(out.spacing, (3.0, 2.0, 1.0))


def test_content_beats_extension():
    raw = nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), np.eye(4)).to_bytes()
    out = read_image(raw, "mislabelled.nii.gz")  # not gzipped at all
    assert out.format == "nifti" and "extension_mismatch" not in out.meta


def _header_only(shape) -> bytes:
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(shape)
    hdr.set_data_dtype(np.float32)
    buf = io.BytesIO()
    hdr.write_to(buf)
    return buf.getvalue() + b"\0" * 4


def test_voxel_bomb_refused_before_inflating():
    bomb = gzip.compress(_header_only((2000, 2000, 2000)))
    with pytest.raises(MedlearnInputError, match="voxels"):
        read_image(bomb, "bomb.nii.gz")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated(cut):
    raw = gzip.compress(nib.Nifti1Image(np.random.default_rng(1).random((8, 8, 8)), np.eye(4)).to_bytes())
    with pytest.raises(MedlearnInputError, match="damaged|truncated"):
        read_image(raw[: int(len(raw) * cut)], "cut.nii.gz")


def test_nan_voxels_are_replaced_with_a_note_and_all_nan_is_refused():
    data = np.ones((2, 2, 2), np.float32)
    data[0, 0, 0] = np.nan
    image = read_image(nib.Nifti1Image(data, np.eye(4)).to_bytes(), "nan.nii")
    assert np.isfinite(image.pixels).all() and any("1 pixel(s) were NaN" in n for n in image.reading_notes())
    with pytest.raises(MedlearnInputError, match="NaN"):
        read_image(nib.Nifti1Image(np.full((2, 2, 2), np.nan, np.float32), np.eye(4)).to_bytes(), "all.nii")


def test_gzip_without_nifti_inside():
    with pytest.raises(MedlearnInputError, match="not a NIfTI"):
        read_image(gzip.compress(b"hello world" * 100), "text.gz")


def test_gzip_path_named_nii_gz_without_nifti(tmp_path):
    path = tmp_path / "fake.nii.gz"
    path.write_bytes(gzip.compress(b"not a brain " * 100))
    with pytest.raises(MedlearnInputError, match="fake.nii.gz"):
        read_image(path)


def test_nifti2_and_path_with_wrong_name(tmp_path):
    img = nib.Nifti2Image(np.arange(8, dtype=np.float32).reshape(2, 2, 2), np.eye(4))
    path = tmp_path / "scan.dat"
    path.write_bytes(gzip.compress(img.to_bytes()))
    out = read_image(path)
    assert out.meta["nifti_version"] == 2 and out.shape == (2, 2, 2)


@pytest.mark.parametrize("name", ["vol.nii", "vol.nii.gz"])
def test_small_path_read_from_memory_matches_bytes(tmp_path, name):
    img = nib.Nifti1Image(np.random.default_rng(2).random((4, 5, 6)).astype(np.float32), ODD_AFFINE)
    path = tmp_path / name
    nib.save(img, path)
    from_path, from_bytes = read_image(path), read_image(path.read_bytes(), name)
    np.testing.assert_array_equal(from_path.pixels, from_bytes.pixels)
    assert from_path.spacing == from_bytes.spacing and from_path.meta == from_bytes.meta
    path.write_bytes(path.read_bytes()[:-40])  # truncated on disk: still one clear, named message
    with pytest.raises(MedlearnInputError, match=name):
        read_image(path)


def _vectors(shape, intent: str | None = "vector") -> tuple[np.ndarray, bytes]:
    data = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([2.0, 3.0, 4.0, 1.0]))
    if intent:
        img.header.set_intent(intent)
    return data, img.to_bytes()


@pytest.mark.parametrize("intent", ["vector", "displacement vector", None])
def test_a_5d_vector_image_is_shown_as_the_vector_length_with_a_note(intent):
    data, raw = _vectors((4, 5, 6, 1, 3), intent)
    for source, name in ((raw, "field.nii"), (gzip.compress(raw), "field.nii.gz")):
        image = read_image(source, name)
        np.testing.assert_allclose(image.pixels, np.linalg.norm(data[:, :, :, 0, :], axis=-1).T, rtol=1e-6)
        assert image.shape == (6, 5, 4) and image.spacing == (4.0, 3.0, 2.0) and image.meta["vector_components"] == 3
        assert any("3 values at each voxel" in n and "length (magnitude)" in n for n in image.reading_notes())


def test_a_5d_vector_series_picks_its_volume_and_says_which():
    data, raw = _vectors((4, 5, 6, 2, 3))
    image = read_image(raw, "series.nii", volume_index=1)
    np.testing.assert_allclose(image.pixels, np.linalg.norm(data[:, :, :, 1, :], axis=-1).T, rtol=1e-6)
    notes = image.reading_notes()
    assert "5D file: showing volume 1 of 2" in notes[0] and "length (magnitude)" in notes[1]
    with pytest.raises(MedlearnInputError, match="holds 2"):
        read_image(raw, "series.nii", volume_index=2)


@pytest.mark.parametrize("shape, intent, why", [
    ((4, 5, 6, 1, 6), "symmetric matrix", "holding a symmetric matrix"),
    ((4, 5, 6, 1, 4), None, "no intent saying what they are"),
    ((4, 5, 6, 1, 1, 2), "vector", "a 6D NIfTI"),
])
def test_other_5d_and_higher_files_are_refused_saying_why(shape, intent, why):
    with pytest.raises(MedlearnInputError, match=why):
        read_image(_vectors(shape, intent)[1], "odd.nii")


def test_a_4d_file_whose_volumes_together_are_too_large_is_refused_before_inflating():
    bomb = gzip.compress(_header_only((200, 200, 200, 100)))  # 32,000,000 voxels a volume, 100 volumes
    with pytest.raises(MedlearnInputError, match="voxels"):
        read_image(bomb, "bomb4d.nii.gz")

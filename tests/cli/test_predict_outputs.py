"""``predict``'s files: the mask and the 3D explanation map carry the input's affine, so both
overlay the image in a NIfTI viewer (ITK-SNAP, 3D Slicer)."""

from types import SimpleNamespace

import nibabel as nib
import numpy as np
from nibabel.affines import apply_affine
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from medlearn.cli.predict import save_outputs
from medlearn.data.io import read_image

ROW = np.array([0.939693, 0.34202, 0.0])  # 20 degrees about the patient's z axis
COL = np.array([-0.330366, 0.907673, 0.258819])  # ... then tilted 15 degrees
NORMAL = np.cross(ROW, COL)
ORIGIN = np.array([-95.5, 140.25, -12.0])
PIXEL = (0.9, 1.1)  # (sy, sx)
STEP = 3.0
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def _write_series(folder, n=5, shape=(6, 7)):
    """``n`` oblique MR slices written with pydicom, out of order."""
    folder.mkdir()
    series = generate_uid()
    for k in reversed(range(n)):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = MRImageStorage, generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.SeriesInstanceUID, ds.InstanceNumber = "MR", series, n - k
        ds.ImageOrientationPatient = [*ROW, *COL]
        ds.ImagePositionPatient = [round(float(v), 4) for v in ORIGIN + k * STEP * NORMAL]
        ds.PixelSpacing = list(PIXEL)
        pixels = np.full(shape, 20 + k, np.int16)
        pixels[2, 5] = 800 + k
        ds.Rows, ds.Columns = shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = pixels.tobytes()
        ds.save_as(folder / f"slice{k}.dcm", enforce_file_format=True)
    return folder


def _ras(z: int, y: int, x: int) -> np.ndarray:
    return LPS_TO_RAS @ (ORIGIN + z * STEP * NORMAL + x * PIXEL[1] * ROW + y * PIXEL[0] * COL)


def test_mask_and_explanation_share_the_dicom_series_affine(tmp_path):
    image = read_image(_write_series(tmp_path / "series"))
    assert image.shape == (5, 6, 7) and image.spacing_known
    np.testing.assert_allclose(apply_affine(image.affine, [0, 0, 0]), _ras(0, 0, 0), atol=1e-3)

    mask = (image.pixels > 500).astype(np.uint8)
    heat = np.zeros(image.shape, np.float32)
    heat[3, 2, 5] = 1.0
    pred = SimpleNamespace(mask=mask, explanation=heat, explain_method="gradcam")
    paths = save_outputs(pred, image, tmp_path / "out")
    saved_mask = nib.load(paths["mask_path"])
    saved_map = nib.load(paths["explanation_path"])

    np.testing.assert_allclose(saved_mask.affine, saved_map.affine, atol=1e-6)
    assert saved_mask.shape == saved_map.shape == (7, 6, 5)
    for i, j, k in np.argwhere(np.asarray(saved_mask.dataobj) > 0):  # the bright voxel of every slice
        z, y, x = k, j, i
        assert (y, x) == (2, 5)
        np.testing.assert_allclose(apply_affine(saved_mask.affine, [i, j, k]), _ras(z, y, x), atol=1e-3)
    assert np.count_nonzero(np.asarray(saved_mask.dataobj)) == 5
    peak = np.unravel_index(np.argmax(np.asarray(saved_map.dataobj)), saved_map.shape)
    np.testing.assert_allclose(apply_affine(saved_map.affine, peak), _ras(3, 2, 5), atol=1e-3)


def test_nifti_input_outputs_keep_the_file_affine(tmp_path):
    affine = np.array([[0.0, 0.0, -2.0, 40.0], [-1.2, 0.1, 0.0, -20.0], [0.0, 0.9, 0.05, 7.5], [0, 0, 0, 1]])
    data = np.random.default_rng(1).normal(size=(6, 5, 4)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), str(tmp_path / "vol.nii.gz"))
    image = read_image(tmp_path / "vol.nii.gz")
    pred = SimpleNamespace(mask=(image.pixels > 0).astype(np.uint8),
                           explanation=np.clip(image.pixels, 0, 1).astype(np.float32), explain_method="gradcam")
    paths = save_outputs(pred, image, tmp_path / "out")
    saved_mask, saved_map = nib.load(paths["mask_path"]), nib.load(paths["explanation_path"])
    np.testing.assert_allclose(saved_mask.affine, affine, atol=1e-5)
    np.testing.assert_allclose(saved_map.affine, affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(saved_mask.dataobj), data > 0)
    np.testing.assert_allclose(np.asarray(saved_map.dataobj), np.clip(data, 0, 1))


def test_2d_outputs_stay_png(tmp_path):
    from PIL import Image

    Image.fromarray(np.arange(30, dtype=np.uint8).reshape(5, 6)).save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    pred = SimpleNamespace(mask=np.ones((5, 6), np.uint8), explanation=np.zeros((5, 6), np.float32),
                           explain_method="gradcam")
    paths = save_outputs(pred, image, tmp_path / "out")
    assert paths["mask_path"].endswith(".png") and paths["explanation_path"].endswith(".png")
    assert np.asarray(Image.open(paths["mask_path"])).shape == (5, 6)
    assert np.asarray(Image.open(paths["explanation_path"])).shape == (5, 6, 3)

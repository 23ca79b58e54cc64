"""One pipeline: the same file through the training dataset and through the predictor gives
the same tensor (max abs difference <= 1e-6), for every case and every file format.

The training side reads files the way a source does (``FolderSource`` for the formats a
user brings; the BUSI, LIDC, MSD and Sunnybrook sources on the real mirror) and builds
the dataset with ``make_dataset`` + ``standardise``; the prediction side reads the same
file with ``read_image`` (as an upload or the command line does) and prepares it with the
model card that training produced.
"""

from __future__ import annotations

import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from dicom_helpers import dicom_bytes
from PIL import Image

from medlearn.card import build_card
from medlearn.cases import get_case
from medlearn.data.io import read_image
from medlearn.data.sources.folder import FolderSource
from medlearn.predict import prepare
from medlearn.preprocess import Intensity, Preprocessing, model_array, percentile_window
from medlearn.train.data import make_dataset, standardise
from medlearn.train.plan import make_plan

TOL = 1e-6
CPU = torch.device("cpu")


def served(path_or_files, case_key: str, arch: str, dataset) -> torch.Tensor:
    """The predictor's input for a file, prepared with the card training produced."""
    case = get_case(case_key)
    plan = make_plan(case, arch, "folder", input_size=dataset.pre.input_size)
    card = build_card(plan, case, dataset.pre, [], "test weights", 0)
    return prepare(read_image(path_or_files), card, CPU, case.title).x


def trained(items, case_key: str, size: int, dims: int, **kw):
    data = make_dataset(items, get_case(case_key), size, dims, every_slice=True, **kw)
    standardise(data)
    return data


def assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert float((a - b).abs().max()) <= TOL


def rng(seed=0):
    return np.random.default_rng(seed)


def speckle(shape, seed=0) -> np.ndarray:
    """A grey ultrasound-like picture: a dark disc in speckle (uint8)."""
    r = rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    disc = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < (min(shape) / 4) ** 2
    img = r.gamma(2.0, 40.0, shape) * np.where(disc, 0.4, 1.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def classification_folder(root: Path, files: dict[str, bytes], cls: str) -> FolderSource:
    (root / cls).mkdir(parents=True)
    for name, data in files.items():
        (root / cls / name).write_bytes(data)
    return FolderSource(root)


def png_bytes(arr: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["grey png", "rgb png with equal channels", "jpeg", "dicom file"])
@pytest.mark.parametrize("arch", ["alexnet", "resnet18", "classic"])
def test_breast_file_formats_train_and_predict_alike(tmp_path, kind, arch):
    grey = speckle((70, 90), seed=1)
    data = {"grey png": png_bytes(grey), "rgb png with equal channels": png_bytes(np.stack([grey] * 3, -1)),
            "jpeg": png_bytes(np.stack([grey] * 3, -1), "JPEG", quality=90),
            "dicom file": dicom_bytes(grey.astype(np.int16), modality="US")}[kind]
    name = {"jpeg": "a.jpg", "dicom file": "a.dcm"}.get(kind, "a.png")
    source = classification_folder(tmp_path / "f", {name: data}, "malignant")
    items = source.load("breast")
    if arch == "classic":  # the classical baseline reads the same prepared image, unresized
        from medlearn.preprocess import prepared_image

        pre = Preprocessing(1, 2, None, get_case("breast").intensity)
        a = prepared_image(items[0].image, pre).pixels
        b = prepared_image(read_image(tmp_path / "f" / "malignant" / name), pre).pixels
        assert a.shape == b.shape and float(np.abs(a - b).max()) <= TOL
        return
    dataset = trained(items, "breast", 32, 2)
    assert_same(dataset.images, served(tmp_path / "f" / "malignant" / name, "breast", arch, dataset))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_retina_colour_photographs_train_and_predict_alike(tmp_path, fmt):
    photo = rng(2).integers(0, 255, (60, 64, 3)).astype(np.uint8)
    name = "eye.png" if fmt == "PNG" else "eye.jpg"
    source = classification_folder(tmp_path / "f", {name: png_bytes(photo, fmt)}, "2")
    dataset = trained(source.load("retina"), "retina", 32, 2)
    assert dataset.images.shape[1] == 3
    assert_same(dataset.images, served(tmp_path / "f" / "2" / name, "retina", "resnet18", dataset))


def test_gastric_colour_tile_train_and_predict_alike(tmp_path):
    tile = rng(3).integers(0, 255, (48, 48, 3)).astype(np.uint8)
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "t.png").write_bytes(png_bytes(tile))
    (tmp_path / "masks" / "t.png").write_bytes(png_bytes((rng(4).random((48, 48)) > 0.5).astype(np.uint8)))
    dataset = trained(FolderSource(tmp_path).load("gastric"), "gastric", 32, 2)
    assert_same(dataset.images, served(tmp_path / "images" / "t.png", "gastric", "unet", dataset))


def nifti(path: Path, volume: np.ndarray, zooms=(1.0, 1.0, 1.0)) -> Path:
    affine = np.diag([*zooms, 1.0])
    nib.save(nib.Nifti1Image(volume, affine), str(path))
    return path


@pytest.mark.parametrize("arch, dims", [("unet", 2), ("unet3d", 3)])
def test_hippocampus_nifti_volume_train_and_predict_alike(tmp_path, arch, dims):
    vol = (rng(5).gamma(3.0, 150.0, (20, 24, 18))).astype(np.float32)
    vol[3, 4, 5] = 40_000.0  # a few very bright voxels
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    nifti(tmp_path / "images" / "h.nii.gz", vol)
    nifti(tmp_path / "masks" / "h.nii.gz", (vol > 600).astype(np.uint8))
    dataset = trained(FolderSource(tmp_path).load("hippocampus"), "hippocampus", 16, dims)
    x = served(tmp_path / "images" / "h.nii.gz", "hippocampus", arch, dataset)
    assert_same(dataset.images, x)


@pytest.mark.parametrize("arch, dims", [("resnet18", 2), ("resnet3d", 3)])
def test_lung_ct_volume_and_dicom_slice_train_and_predict_alike(tmp_path, arch, dims):
    vol = rng(6).normal(-700, 200, (16, 20, 20)).astype(np.float32)
    source = classification_folder(tmp_path / "v", {}, "malignant")
    nifti(tmp_path / "v" / "malignant" / "c.nii.gz", vol)
    dataset = trained(source.load("lung"), "lung", 16, dims)
    assert_same(dataset.images, served(tmp_path / "v" / "malignant" / "c.nii.gz", "lung", arch, dataset))
    if dims == 2:  # a single CT slice as a DICOM file (Hounsfield units through the rescale)
        ct = rng(7).normal(24, 300, (40, 40)).astype(np.int16)
        source = classification_folder(tmp_path / "d", {"s.dcm": dicom_bytes(ct, intercept=-1024, slope=1)},
                                       "benign")
        dataset = trained(source.load("lung"), "lung", 16, 2)
        assert_same(dataset.images, served(tmp_path / "d" / "benign" / "s.dcm", "lung", arch, dataset))


def test_heart_dicom_series_is_prepared_frame_by_frame_as_training_frames(tmp_path):
    """Training sees a cardiac series as separate frames, each normalised on its own; the
    predictor given the whole series must normalise each slice alike (a series windowed
    with the first slice's window clipped the mid-ventricle slices)."""
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    files = []
    for z in range(3):
        frame = (rng(8 + z).gamma(2.0, 60.0 * (z + 1), (32, 32))).astype(np.int16)  # brightness per slice
        name = f"f{z}.dcm"
        data = dicom_bytes(frame, modality="MR", position=(0, 0, 10.0 * z), instance=z + 1, spacing=(1.4, 1.4))
        (tmp_path / "images" / name).write_bytes(data)
        (tmp_path / "masks" / f"f{z}.png").write_bytes(png_bytes((frame > 100).astype(np.uint8)))
        files.append(tmp_path / "images" / name)
    source = FolderSource(tmp_path)
    source._segmentation = _dicom_masks(source._segmentation)
    items = sorted(source.load("heart"), key=lambda s: s.id)
    dataset = trained(items, "heart", 16, 2)
    x = served([(f.name, f.read_bytes()) for f in files], "heart", "unet", dataset)
    assert x.shape[0] == 3  # the series became three slices, each the training frame's tensor
    assert_same(dataset.images, x)


def _dicom_masks(original):
    """FolderSource pairs masks by name; the DICOM frames have PNG masks of the same stem."""
    def segmentation(folder, split):
        images, masks = folder / "images", folder / "masks"
        return [{"path": p, "split": split, "mask_path": masks / f"{p.stem}.png"} for p in sorted(images.iterdir())]
    return segmentation


def test_percentile_window_is_capped_against_a_few_very_bright_voxels():
    vol = rng(9).normal(500, 100, (30, 30, 30)).astype(np.float32)
    hot = vol.copy()
    hot.reshape(-1)[:: 150] = 30_000.0  # 0.7 % of the voxels: above the 99.5th percentile
    plain, capped = Intensity("percentile"), Intensity("percentile", cap_iqr=3.0)
    assert percentile_window(hot, plain)[1] > 20_000  # the plain window is stretched...
    lo, hi = percentile_window(hot, capped)
    assert hi < 1_500 and lo < 300  # ...the capped one stays on the tissue
    tissue = model_array(_image(hot), Preprocessing(1, 3, None, capped))[0]
    assert float(np.std(tissue[hot < 10_000])) > 0.1  # contrast kept where it matters


def _image(pixels):
    from medlearn.data.image import MedImage

    return MedImage(pixels, spacing=(1.0, 1.0, 1.0), modality="MR")


def test_equal_channel_rgb_is_grey_for_every_reader_path(tmp_path):
    grey = speckle((30, 40))
    path = tmp_path / "u.png"
    path.write_bytes(png_bytes(np.stack([grey] * 3, -1)))
    image = read_image(path)
    assert image.pixels.shape == (30, 40) and not image.is_rgb and "equal channels" in image.meta["grey"]
    np.testing.assert_array_equal(image.pixels, grey)
    colourful = rng(1).integers(0, 255, (30, 40, 3)).astype(np.uint8)
    path.write_bytes(png_bytes(colourful))
    assert read_image(path).is_rgb


# ---- the real mirror: each real set's file through its source and through the predictor ----

@pytest.mark.mirror
def test_busi_png_trains_and_predicts_alike(mirror):
    from medlearn.data.sources.busi import BusiSource

    source = BusiSource(mirror / "breast_ultrasound/busi")
    items = source.load("breast", limit=4)
    for item in items:
        dataset = trained([item], "breast", 96, 2)
        path = mirror / "breast_ultrasound/busi/images" / Path(item.image.source).name
        assert_same(dataset.images, served(path, "breast", "resnet18", dataset))


@pytest.mark.mirror
def test_lidc_crop_trains_and_predicts_alike(mirror):
    from medlearn.data.sources.lidc import LidcCropsSource

    root = mirror / "lung_nodule_ct/lidc_crops"
    item = LidcCropsSource(root).load("lung", limit=1)[0]
    dataset = trained([item], "lung", 32, 2)
    assert_same(dataset.images, served(root / Path(item.image.source).name, "lung", "resnet18", dataset))


@pytest.mark.mirror
@pytest.mark.parametrize("arch, dims", [("unet", 2), ("unet3d", 3)])
def test_msd_volume_trains_and_predicts_alike(mirror, arch, dims):
    from medlearn.data.sources.decathlon import DecathlonHippocampusSource

    root = mirror / "hippocampus_mri/msd_task04"
    item = DecathlonHippocampusSource(root).load("hippocampus", limit=1)[0]
    dataset = trained([item], "hippocampus", 32, dims)
    path = root / "imagesTr" / Path(item.image.source).name
    assert_same(dataset.images, served(path, "hippocampus", arch, dataset))


@pytest.mark.mirror
def test_sunnybrook_frame_and_its_series_train_and_predict_alike(mirror):
    from medlearn.data.sources.sunnybrook import SunnybrookSource

    root = mirror / "cardiac_lv_mri/sunnybrook"
    items = SunnybrookSource(root).load("heart")
    patient = items[0].meta["patient"]
    same_phase = [it for it in items if it.meta["patient"] == patient
                  and it.meta.get("phase") == items[0].meta.get("phase")]
    one = trained(same_phase[:1], "heart", 128, 2)
    frame = root / "dicoms" / patient / Path(same_phase[0].image.source).name
    assert_same(one.images, served(frame, "heart", "unet", one))
    # the phase's frames as one series (an upload of the folder): slice by slice the same tensors
    files = [root / "dicoms" / patient / Path(it.image.source).name for it in same_phase]
    x = served([(f.name, f.read_bytes()) for f in files], "heart", "unet", one)
    assert x.shape[0] == len(files) > 1
    for item in same_phase:
        row = trained([item], "heart", 128, 2)
        row_x = (row.images - 0)  # each frame standardised with the first frame's statistics below
        row_x = standardise_like(row, one)
        assert min(float((row_x[0] - s).abs().max()) for s in x) <= TOL


def standardise_like(data, reference):
    """``data``'s rows standardised with ``reference``'s statistics instead of their own."""
    from medlearn.preprocess import standardise as apply

    norm = data.pre.norm
    raw = data.images * torch.tensor(norm["std"]).view(1, -1, 1, 1) + torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    return apply(raw, reference.pre.norm)


def test_a_region_of_interest_crops_training_and_prediction_alike_and_answers_background_outside(tmp_path):
    """The heart's real recipe sees the central half of the field: the image, its mask and the
    served input are cropped by the same box, and the answer is placed back in the full image."""
    from medlearn.models import get_model
    from medlearn.predict import Predictor
    from medlearn.train.checkpoints import save_checkpoint
    from medlearn.train.recipes import untrained_meta

    frame = speckle((64, 80), seed=3).astype(np.int16)
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "f.dcm").write_bytes(dicom_bytes(frame, modality="MR", spacing=(1.4, 1.4)))
    mask = np.zeros((64, 80), np.uint8)
    mask[28:36, 36:44] = 1
    (tmp_path / "masks" / "f.png").write_bytes(png_bytes(mask))
    source = FolderSource(tmp_path)
    source._segmentation = _dicom_masks(source._segmentation)
    dataset = make_dataset(source.load("heart"), get_case("heart"), 16, 2, every_slice=True, crop=0.5)
    standardise(dataset)
    assert dataset.pre.crop == 0.5 and int(dataset.targets.sum()) > 0  # the lesion is inside the box
    x = served(tmp_path / "images" / "f.dcm", "heart", "unet", dataset)
    assert_same(dataset.images, x)
    meta = untrained_meta("heart", "unet", width=4, input_size=16, crop=0.5)
    assert meta["card"]["preprocessing"]["crop"] == 0.5
    torch.manual_seed(0)
    path = save_checkpoint(get_model("unet", in_channels=1, num_classes=3, width=4, input_size=16), meta,
                           tmp_path / "u.safetensors")
    pred = Predictor(device="cpu").predict("heart", read_image(tmp_path / "images" / "f.dcm"), checkpoint=path)
    assert pred.mask.shape == (64, 80) and pred.explanation.shape == (64, 80)
    outside = np.ones((64, 80), bool)
    outside[16:48, 20:60] = False  # the central half of each axis
    assert not pred.mask[outside].any() and not pred.explanation[outside].any()
    assert any("central 50% of the field of view" in n for n in pred.notes)


def test_resize_smooths_only_the_axes_it_shrinks_at_least_one_and_a_half_times():
    from monai.transforms import Resize

    from medlearn.preprocess import SMOOTH_FROM, resize

    rng = np.random.default_rng(0)
    x = rng.random((3, 96, 120)).astype(np.float32)  # fine texture: smoothing shows
    plain = lambda size, **k: np.asarray(Resize((size, size), mode="bilinear", **k)(x))  # noqa: E731
    assert SMOOTH_FROM == 1.5
    assert np.array_equal(resize(x, 90, 2), plain(90, anti_aliasing=False))  # 1.07x / 1.33x: no Gaussian
    assert not np.array_equal(plain(90, anti_aliasing=True), plain(90, anti_aliasing=False))  # MONAI's would
    assert np.array_equal(resize(x, 32, 2), plain(32, anti_aliasing=True))  # 3x / 3.75x: MONAI's own, unchanged
    assert not np.allclose(resize(x, 32, 2), plain(32, anti_aliasing=False), atol=1e-3)
    mixed = resize(x, 64, 2)  # rows 1.5x (smoothed), columns 1.875x (smoothed): both
    assert np.array_equal(mixed, plain(64, anti_aliasing=True))
    one_axis = resize(rng.random((1, 70, 200)).astype(np.float32), 64, 2)  # 1.09x rows, 3.1x columns
    assert one_axis.shape == (1, 64, 64) and one_axis.dtype == np.float32

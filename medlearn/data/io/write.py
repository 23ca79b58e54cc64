"""Writers: ``save_image`` and ``save_mask`` to PNG (2D), NIfTI (3D) or ``.npy``.

The NIfTI affine is the image's own (``MedImage.affine``, kept by the NIfTI and DICOM
readers), so a mask or an explanation map saved from an image overlays that image in a
NIfTI viewer (ITK-SNAP, 3D Slicer); both qform and sform hold it. A volume read from
NIfTI is written back in the file's own axis order (``meta["original_orientation"]``,
undoing the reader's reorientation), so the saved affine is the input file's. Without an
affine (phantoms, pictures, ``.npy``) it is built from ``MedImage.orientation`` (``"RAS"``
for volumes that came from NIfTI, e.g. ``"LPS"`` for DICOM series) and ``spacing``, so
:func:`read_image` gives back the same shape, spacing and values.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

from medlearn.data.image import MedImage
from medlearn.data.io.arrays import rgb_to_uint8
from medlearn.errors import MedlearnInputError

_AXIS_LETTERS = set("RLAPSI")


def _kind(path: Path) -> str:
    lower = path.name.lower()
    for ext, kind in ((".nii.gz", "nifti"), (".nii", "nifti"), (".png", "png"), (".npy", "npy")):
        if lower.endswith(ext):
            return kind
    raise MedlearnInputError(f"Cannot save to {path.name!r}: use a .png, .nii, .nii.gz or .npy file name.")


def _affine(spacing: tuple[float, ...], orientation: str) -> np.ndarray:
    """4x4 voxel-to-RAS affine for an ``(X, Y, Z)`` array (spacing given as ``(sz, sy, sx)``)."""
    codes = orientation if len(orientation) == 3 and set(orientation) <= _AXIS_LETTERS else "RAS"
    try:
        ornt = nib.orientations.axcodes2ornt(tuple(codes))
    except ValueError:  # e.g. "LRS": two letters on one axis
        ornt = nib.orientations.axcodes2ornt(("R", "A", "S"))
    affine = np.eye(4)
    affine[:3, :3] = 0
    for i, ((axis, sign), step) in enumerate(zip(ornt, spacing[::-1])):
        affine[int(axis), i] = sign * step
    return affine


def _world_affine(affine: np.ndarray, ndim: int) -> np.ndarray:
    """``MedImage.affine`` (MedLearn index order) as nibabel's, for the array written as
    ``pixels.T`` (a 2D image written as one slice ``(1, H, W)``)."""
    affine = np.asarray(affine, dtype=np.float64)
    if ndim == 2:  # (y, x, normal) -> (z = normal, y, x)
        affine = affine[:, [2, 0, 1, 3]]
    return affine[:, [2, 1, 0, 3]]  # (z, y, x) -> nibabel's (x, y, z)


def _file_order(img: nib.Nifti1Image, codes) -> nib.Nifti1Image:
    """``img`` reoriented to the axis codes of the file its image came from (e.g. ``"LPS"``),
    undoing the reader's ``as_closest_canonical``; unchanged when the codes are not three
    distinct axes or already match."""
    if not isinstance(codes, str) or len(codes) != 3 or not set(codes) <= _AXIS_LETTERS:
        return img
    try:
        target = nib.orientations.axcodes2ornt(tuple(codes))
    except ValueError:  # e.g. "LRS": two letters on one axis
        return img
    current = nib.orientations.io_orientation(img.affine)
    if np.array_equal(current, target):
        return img
    return img.as_reoriented(nib.orientations.ornt_transform(current, target))


def _nifti_dtype(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8)
    if arr.dtype in (np.int64, np.uint64):
        return arr.astype(np.int32)
    return arr.astype(np.float32) if arr.dtype == np.float64 else arr


def _write(path: Path, save) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save()
    except OSError as exc:
        raise MedlearnInputError(f"Cannot write {str(path)!r}: {exc.strerror or exc}.") from exc
    return path


def _save_nifti(pixels: np.ndarray, spacing, orientation: str, path: Path, affine: np.ndarray | None = None,
                file_codes: str | None = None) -> Path:
    """Write ``pixels`` (MedLearn order) with ``affine`` (MedLearn index order; None: built from
    ``spacing`` and ``orientation``), back in the file's axis order ``file_codes`` when given."""
    ndim = pixels.ndim
    if ndim == 2:  # a picture becomes a one-slice volume (1, H, W)
        pixels, spacing, orientation = pixels[None], (1.0, *spacing), "RAS"
    if affine is None:
        img = nib.Nifti1Image(_nifti_dtype(pixels).T, _affine(tuple(spacing), orientation))
    else:
        img = nib.Nifti1Image(_nifti_dtype(pixels).T, _world_affine(affine, ndim))
        if ndim == 3:
            img = _file_order(img, file_codes)
        img.set_qform(img.affine, code="scanner")  # viewers read either; both say the same
        img.set_sform(img.affine, code="scanner")
    img.header.set_xyzt_units("mm")
    return _write(path, lambda: nib.save(img, str(path)))


def _png_grey(image: MedImage) -> np.ndarray:
    px = image.pixels
    if px.dtype in (np.uint8, np.uint16):
        return px
    if px.dtype.kind == "b":
        return px.astype(np.uint8) * 255
    if px.dtype.kind in "iu" and px.min() >= 0 and px.max() <= 65535:
        return px.astype(np.uint8 if px.max() <= 255 else np.uint16)
    return np.rint(image.windowed() * 255).astype(np.uint8)  # floats / HU: what the viewer shows


def save_image(image: MedImage, path: str | Path, *, affine: np.ndarray | None = None) -> Path:
    """Save an image by extension.

    ``.png``: 2D only; uint8/uint16 greys and RGB as they are, other integers as
    uint8/uint16, floats (e.g. Hounsfield units) through ``image.window`` to 0-255.
    ``.nii``/``.nii.gz``: grey 2D or 3D with the image's affine (``affine`` overrides it;
    without either, spacing and orientation make one), in the axis order of the file
    the image was read from. ``.npy``: the pixel array only.

    Returns:
        The path written.
    """
    path = Path(path)
    kind = _kind(path)
    if kind == "npy":
        return _write(path, lambda: np.save(path, image.pixels))
    if kind == "nifti":
        if image.is_rgb:
            raise MedlearnInputError("NIfTI holds grey images: save a colour picture as .png.")
        return _save_nifti(image.pixels, image.spacing, image.orientation, path,
                           image.affine if affine is None else affine, _file_codes(image))
    if image.spatial_dims != 2:
        raise MedlearnInputError("A PNG holds one 2D picture: save a 3D volume as .nii.gz.")
    arr = rgb_to_uint8(image.pixels) if image.is_rgb else _png_grey(image)
    return _write(path, lambda: Image.fromarray(arr).save(path, format="PNG"))


def _file_codes(image: MedImage) -> str | None:
    codes = image.meta.get("original_orientation") if image.format == "nifti" else None
    return codes if isinstance(codes, str) else None


def save_mask(mask: np.ndarray, spacing: MedImage | tuple[float, ...] | None, path: str | Path, *,
              affine: np.ndarray | None = None) -> Path:
    """Save an integer label mask ``(H, W)`` or ``(Z, Y, X)`` (0 = background).

    Args:
        mask: the labels, in the image's array order.
        spacing: the image the mask was drawn on (its spacing, affine and file axis order
            are used, so the saved mask overlays it), or a spacing in mm in array order, or
            None (1 mm).
        path: ``.png`` stores labels 0-255 as uint8 values (not rescaled); ``.nii``/``.nii.gz``
            stores uint8 (int16 above 255) with the image's affine (from a spacing alone:
            RAS orientation, origin 0); ``.npy`` stores the array.
        affine: overrides the image's affine (MedLearn index order, see ``MedImage``).
    """
    path, mask = Path(path), np.asarray(mask)
    image = spacing if isinstance(spacing, MedImage) else None
    if image is not None:
        if tuple(image.spatial_shape) != mask.shape:
            raise MedlearnInputError(
                f"The mask's shape {mask.shape} does not match the image's {image.spatial_shape}.")
        spacing, affine = image.spacing, image.affine if affine is None else affine
    kind = _kind(path)
    if mask.ndim not in (2, 3) or mask.size == 0:
        raise MedlearnInputError(f"A mask must be a 2D or 3D array, got shape {mask.shape}.")
    if mask.dtype.kind == "f" and not (np.isfinite(mask).all() and (mask == np.rint(mask)).all()):
        raise MedlearnInputError("A mask holds whole-number labels; this one has fractions or NaN.")
    if mask.dtype.kind not in "biuf" or mask.min() < 0:
        raise MedlearnInputError("A mask holds labels 0, 1, 2, ...; negative or non-numeric values found.")
    spacing = tuple(float(s) for s in (spacing or (1.0,) * mask.ndim))
    if len(spacing) != mask.ndim:
        raise MedlearnInputError(f"Spacing {spacing} does not match a {mask.ndim}D mask.")
    top = int(mask.max())
    labels = mask.astype(np.uint8 if top <= 255 else np.int16 if top <= 32767 else np.int32)
    if kind == "npy":
        return _write(path, lambda: np.save(path, labels))
    if kind == "nifti":
        return _save_nifti(labels, spacing, "RAS" if image is None else image.orientation, path, affine,
                           None if image is None else _file_codes(image))
    if mask.ndim != 2 or top > 255:
        raise MedlearnInputError("A PNG mask must be 2D with labels up to 255: use .nii.gz instead.")
    return _write(path, lambda: Image.fromarray(labels).save(path, format="PNG"))

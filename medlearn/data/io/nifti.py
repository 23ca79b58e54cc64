"""NIfTI-1 / NIfTI-2 volumes (``.nii``, ``.nii.gz``) through nibabel.

Orientation convention. Every volume is reoriented with ``nib.as_closest_canonical``
to RAS+: voxel axis i points to the patient's Right, j to Anterior, k to Superior.
nibabel's array is ``(i, j, k)`` = ``(X, Y, Z)``; MedLearn's array is its transpose,
``(Z, Y, X)`` = (inferior->superior, posterior->anterior, left->right), and spacing is
reordered the same way, ``(sz, sy, sx)`` in mm. ``MedImage.orientation`` is then
``"RAS"``: the codes name the (X, Y, Z) axes, i.e. the numpy axes read right to left.
"""

from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np

from medlearn.data.image import MedImage
from medlearn.data.io.arrays import new_image, contiguous, to_working_dtype
from medlearn.data.io.detect import HEAD_BYTES, nifti_version
from medlearn.data.io.limits import check_shape, pick_index
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError

_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 0.001, "unknown": 1.0}


def _header_class(version: int):
    return nib.Nifti1Image if version == 1 else nib.Nifti2Image


def _check_header(header, name: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in header.get_data_shape())
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 4:
        raise MedlearnInputError(f"{name}: a {len(shape)}D NIfTI (shape {shape}) is not an image MedLearn shows.")
    check_shape(shape[:3], name, spatial_dims=min(len(shape), 3))
    return shape


def _from_bytes(blob: Blob, head: bytes, gz: bool, version: int) -> nib.Nifti1Image:
    klass = _header_class(version)
    header = klass.header_class.from_fileobj(io.BytesIO(head))
    shape = _check_header(header, blob.name)
    data = blob.data()
    if gz:  # inflate only as many bytes as the (already checked) header announces
        need = int(header.get_data_offset()) + int(np.prod(shape)) * header.get_data_dtype().itemsize
        data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(need)
    return klass.from_bytes(data)


def _from_memory(blob: Blob, gz: bool) -> nib.Nifti1Image | None:
    """A small file already read into memory: parsed from its bytes in one pass (nibabel's
    ``load`` opens and, for ``.nii.gz``, inflates the file three times: sniff, header, data).
    ``None`` when anything is unusual, so ``nib.load`` reports it exactly as before."""
    if gz:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(blob.raw)) as fh:
                head = fh.read(HEAD_BYTES)
        except (OSError, EOFError):
            return None
    else:
        head = blob.raw[:HEAD_BYTES]
    version = nifti_version(head)
    if version is None or head[344:347] == b"ni1":
        return None
    try:
        return _from_bytes(blob, head, gz, version)  # size limits checked before inflating
    except MedlearnInputError:
        raise
    except Exception:  # damaged or truncated: let nibabel fail the way it always did
        return None


def _load(blob: Blob, head: bytes, gz: bool) -> nib.Nifti1Image:
    if head[344:347] == b"ni1":
        raise MedlearnInputError(
            f"{blob.name}: this is the header half of a .hdr/.img pair; convert it to a single .nii file."
        )
    named_right = blob.name.lower().endswith(".nii.gz" if gz else ".nii")
    if blob.path is not None and named_right:
        img = _from_memory(blob, gz) if blob.raw is not None else None
        if img is not None:
            return img
        try:
            img = nib.load(str(blob.path), mmap=False)  # reads the header only
        except nib.filebasedimages.ImageFileError as exc:
            raise MedlearnInputError(f"{blob.name}: not a NIfTI image inside ({exc}).") from exc
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise MedlearnInputError(f"{blob.name}: not a single-file NIfTI image (.nii / .nii.gz).")
        return img
    return _from_bytes(blob, head, gz, nifti_version(head))


def _canonical(img: nib.Nifti1Image) -> tuple[nib.Nifti1Image, str]:
    """``nib.as_closest_canonical(img)`` plus the file's own axis codes (e.g. ``"LPS"``).

    Same steps as nibabel's function (``io_orientation`` then ``as_reoriented``), done
    here so the orientation is computed once and can be reported.
    """
    ornt = nib.orientations.io_orientation(img.affine)
    original = "".join(nib.orientations.ornt2axcodes(ornt))
    if original == "RAS":
        return img, original
    return img.as_reoriented(ornt), original


def read_nifti(blob: Blob, head: bytes, gz: bool, volume_index: int | None = None) -> MedImage:
    """Read a NIfTI volume as ``(Z, Y, X)`` in RAS+ (see module doc).

    Args:
        blob: the file.
        head: its first (decompressed) :data:`HEAD_BYTES` bytes.
        gz: whether the file is gzip-compressed.
        volume_index: which volume of a 4D file (default 0).
    """
    img = _load(blob, head, gz)
    shape = _check_header(img.header, blob.name)
    meta = {"nifti_version": 2 if isinstance(img, nib.Nifti2Image) else 1}
    if img.ndim > len(shape):  # trailing axes of length 1
        img = nib.funcs.squeeze_image(img)
    if len(shape) == 4:
        t = pick_index(volume_index, shape[3], "volume", blob.name)
        img = img.slicer[..., t]  # reads only that volume
        meta.update(volumes=shape[3], volume_index=t, note=f"4D file: showing volume {t} of {shape[3]}")
    canon, original = _canonical(img)
    meta["original_orientation"] = original
    data = to_working_dtype(np.asanyarray(canon.dataobj), blob.name)
    unit = _TO_MM.get(canon.header.get_xyzt_units()[0], 1.0)
    zooms = [float(z) * unit for z in canon.header.get_zooms()[: data.ndim]]
    if data.ndim == 2:  # a single-slice NIfTI: (X, Y) -> (Y, X) picture
        return new_image(contiguous(data.T), spacing=zooms[::-1], modality="OT", orientation="2D",
                        source=blob.name, format="nifti", meta=meta)
    return new_image(contiguous(data.T), spacing=zooms[::-1], modality="OT", orientation="RAS",
                    source=blob.name, format="nifti", meta=meta)

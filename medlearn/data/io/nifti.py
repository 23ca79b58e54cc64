"""NIfTI-1 / NIfTI-2 volumes (``.nii``, ``.nii.gz``) through nibabel.

Orientation convention. Every volume is reoriented with ``nib.as_closest_canonical``
to RAS+: voxel axis i points to the patient's Right, j to Anterior, k to Superior.
nibabel's array is ``(i, j, k)`` = ``(X, Y, Z)``; MedLearn's array is its transpose,
``(Z, Y, X)`` = (inferior->superior, posterior->anterior, left->right), and spacing is
reordered the same way, ``(sz, sy, sx)`` in mm. ``MedImage.orientation`` is then
``"RAS"``: the codes name the (X, Y, Z) axes, i.e. the numpy axes read right to left.

Geometry kept: ``MedImage.affine`` is the reoriented image's affine with its columns in
the array's (Z, Y, X) order (so it maps MedLearn's indices, not nibabel's), in mm. The
writers put it back, in the file's own axis order (``meta["original_orientation"]``), so
a saved mask overlays the file it was drawn on. Voxel sizes are taken from the raw
header: a zero, negative or non-finite ``pixdim`` (which nibabel silently replaces by 1
or its absolute value) makes the spacing unknown, 1 mm, with a note in ``meta["notes"]``.
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


VECTOR_INTENTS = ("vector", "displacement vector", "none")
"""NIfTI intents (nibabel's names) of a 5D file that MedLearn shows as the length of each voxel's
vector; with ``"none"`` the file does not say, and at most :data:`MAX_UNNAMED_COMPONENTS` values are."""

MAX_UNNAMED_COMPONENTS = 3
"""A 5D file without an intent is read as vectors only up to this many values per voxel (x, y, z)."""


def _check_header(header, name: str) -> tuple[int, ...]:
    """The data shape without trailing axes of length 1, after refusing what MedLearn does not
    show: more than 5 dimensions, a 5D file that is not a vector field, too many voxels."""
    shape = tuple(int(s) for s in header.get_data_shape())
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 5:
        raise MedlearnInputError(
            f"{name}: a {len(shape)}D NIfTI (shape {shape}): its dimensions beyond the 5th hold more than one "
            "value. MedLearn reads 3D volumes, 4D series (one volume at a time) and 5D vector images (shown as "
            "the length of each voxel's vector).")
    if len(shape) == 5:
        intent, components = header.get_intent()[0], shape[4]
        if intent not in VECTOR_INTENTS:
            raise MedlearnInputError(
                f"{name}: a 5D NIfTI (shape {shape}) holding a {intent} ({components} values per voxel, NIfTI "
                "intent): MedLearn shows scalar images and vectors (as their length), not this.")
        if intent == "none" and components > MAX_UNNAMED_COMPONENTS:
            raise MedlearnInputError(
                f"{name}: a 5D NIfTI (shape {shape}) with {components} values per voxel and no intent saying "
                f"what they are: MedLearn reads a 5th dimension as a vector of at most {MAX_UNNAMED_COMPONENTS} "
                "values unless the header's intent says 'vector'.")
    check_shape(shape[:3], name, spatial_dims=min(len(shape), 3))
    if len(shape) > 3:  # every volume together (a .nii.gz is inflated up to the chosen one)
        check_shape(shape, name, spatial_dims=4)
    return shape


def _vector_length(img, t: int, name: str):
    """Volume ``t`` of a 5D vector image as one 3D image of each voxel's vector length
    (Euclidean norm over the 5th axis), with the file's header and affine."""
    components = to_working_dtype(np.asanyarray(img.dataobj[:, :, :, t, :]), name)
    length = np.linalg.norm(components.astype(np.float32, copy=False), axis=-1)
    header = img.header.copy()
    header.set_data_dtype(np.float32)
    return type(img)(length, img.affine, header)


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


def _canonical(img: nib.Nifti1Image) -> tuple[nib.Nifti1Image, str, np.ndarray]:
    """``nib.as_closest_canonical(img)``, the file's own axis codes (e.g. ``"LPS"``) and the
    reorientation (file axis -> canonical axis and flip, nibabel's ``ornt``).

    Same steps as nibabel's function (``io_orientation`` then ``as_reoriented``), done
    here so the orientation is computed once and can be reported.
    """
    ornt = nib.orientations.io_orientation(img.affine)
    original = "".join(nib.orientations.ornt2axcodes(ornt))
    if original == "RAS":
        return img, original, ornt
    return img.as_reoriented(ornt), original, ornt


def _raw_pixdim(blob: Blob, head: bytes, gz: bool) -> np.ndarray | None:
    """``pixdim`` as written in the file, before nibabel's fixes (``None`` if unreadable)."""
    if gz and head[:2] == b"\x1f\x8b":  # a .nii.gz path: ``head`` is still compressed
        try:
            with blob.open() as fh:
                head = gzip.GzipFile(fileobj=fh).read(HEAD_BYTES)
        except (OSError, EOFError):
            return None
    version = nifti_version(head)
    if version is None:
        return None
    header_class = _header_class(version).header_class
    try:
        header = header_class(head[: header_class.sizeof_hdr], check=False)
    except Exception:  # the header parsed fine for nibabel already; be lenient here
        return None
    return np.asarray(header["pixdim"], dtype=np.float64)


def _spacing(canon, ornt: np.ndarray | None, raw_pixdim: np.ndarray | None, ndim: int,
             unit: float) -> tuple[list[float], list[str]]:
    """Voxel sizes in mm in nibabel's (X, Y, Z) order after reorientation, and a note when
    the header's sizes cannot be trusted (those axes then get 1 mm).

    Args:
        canon: the reoriented image.
        ornt: the reorientation (file axis -> canonical axis), None when none was done.
        raw_pixdim: ``pixdim`` as stored in the file (None: trust nibabel's zooms).
        ndim: spatial dimensions of the data.
        unit: mm per file unit.
    """
    zooms = [float(z) * unit for z in canon.header.get_zooms()[:ndim]]
    bad = {a for a in range(ndim) if not (np.isfinite(zooms[a]) and zooms[a] > 0)}
    if raw_pixdim is not None:
        stored = [float(v) for v in raw_pixdim[1:1 + ndim]]
        bad |= {int(ornt[a, 0]) if ornt is not None else a for a in range(ndim)
                if not (np.isfinite(stored[a]) and stored[a] > 0)}
    else:
        stored = zooms
    if not bad:
        return zooms, []
    note = (f"The NIfTI header gives voxel sizes {stored}: zero, negative or not a number, so the "
            "pixel spacing is unknown; 1 mm is used and sizes are reported in pixels.")
    return [1.0 if a in bad else z for a, z in enumerate(zooms)], [note]


def _usable(img) -> bool:
    """A finite affine whose voxel axes span space (nibabel's reorientation needs one); for a
    single slice, its two in-plane axes must be independent."""
    a = np.asarray(img.affine, dtype=np.float64)
    if not np.isfinite(a).all():
        return False
    if img.ndim == 2:
        return bool(np.linalg.norm(np.cross(a[:3, 0], a[:3, 1])) > 1e-12)
    return bool(abs(np.linalg.det(a[:3, :3])) > 1e-12)


def _plane_affine(affine: np.ndarray) -> np.ndarray:
    """A single slice's affine with a third column along the plane's normal (see ``MedImage``)."""
    out = np.asarray(affine, dtype=np.float64).copy()
    normal = np.cross(out[:3, 0], out[:3, 1])
    if abs(np.dot(normal, out[:3, 2])) < 1e-12:  # the file left the slice axis empty
        out[:3, 2] = normal / np.linalg.norm(normal)
    return out


def read_nifti(blob: Blob, head: bytes, gz: bool, volume_index: int | None = None) -> MedImage:
    """Read a NIfTI volume as ``(Z, Y, X)`` in RAS+ (see module doc).

    Args:
        blob: the file.
        head: its first (decompressed) :data:`HEAD_BYTES` bytes.
        gz: whether the file is gzip-compressed.
        volume_index: which volume of a 4D (or 5D) file (default 0).

    A 5D file ``(X, Y, Z, T, U)`` of vectors (NIfTI intent vector, displacement vector, or
    none with at most 3 values) is shown as each voxel's vector length, with a note.
    """
    img = _load(blob, head, gz)
    shape = _check_header(img.header, blob.name)
    meta = {"nifti_version": 2 if isinstance(img, nib.Nifti2Image) else 1}
    if img.ndim > len(shape):  # trailing axes of length 1
        img = nib.funcs.squeeze_image(img)
    notes: list[str] = []
    if len(shape) >= 4:
        t = pick_index(volume_index, shape[3], "volume", blob.name)
        if shape[3] > 1:
            meta.update(volumes=shape[3], volume_index=t, note=f"{len(shape)}D file: showing volume {t} of "
                        f"{shape[3]} (numbered from 0)")
        if len(shape) == 4:
            img = img.slicer[..., t]  # reads only that volume
        else:
            intent = img.header.get_intent()[0]
            said = f"NIfTI intent: {intent}" if intent != "none" else "no NIfTI intent; read as a vector"
            img = _vector_length(img, t, blob.name)
            meta["vector_components"] = shape[4]
            notes.append(f"The file holds {shape[4]} values at each voxel ({said}): the image shows the length "
                         "(magnitude) of each voxel's vector, not its components.")
    pixdim = _raw_pixdim(blob, head, gz)
    unit = _TO_MM.get(img.header.get_xyzt_units()[0], 1.0)
    if not _usable(img):
        canon, ornt, affine = img, None, None
        notes.append("The NIfTI header's affine is not usable (not finite, or its axes do not span space): "
                     "the volume is shown in file order, without world coordinates.")
    elif img.ndim == 2:  # a single-slice NIfTI: kept in file order, the affine says where it lies
        canon, ornt, affine = img, None, _plane_affine(img.affine)
        meta["original_orientation"] = "".join(nib.orientations.aff2axcodes(img.affine))
    else:
        canon, meta["original_orientation"], ornt = _canonical(img)
        affine = canon.affine
    data = to_working_dtype(np.asanyarray(canon.dataobj), blob.name)
    zooms, bad = _spacing(canon, ornt, pixdim, data.ndim, unit)
    notes += bad
    if notes:
        meta["notes"] = notes
    if affine is not None:
        affine = np.asarray(affine, dtype=np.float64).copy()
        affine[:3] *= unit
        # nibabel indexes (X, Y, Z); MedLearn's array is its transpose, (Z, Y, X) / (Y, X)
        affine = affine[:, [1, 0, 2, 3]] if data.ndim == 2 else affine[:, [2, 1, 0, 3]]
    fields = dict(spacing=zooms[::-1], spacing_known=not bad, affine=affine, modality="OT", source=blob.name,
                  format="nifti", meta=meta)
    if data.ndim == 2:  # (X, Y) -> (Y, X) picture
        return new_image(contiguous(data.T), orientation="2D", **fields)
    return new_image(contiguous(data.T), orientation="RAS" if ornt is not None else "ZYX", **fields)

"""NumPy arrays: ``.npy`` files and ``.npz`` archives in MedMNIST's layout.

MedMNIST stores ``train_images`` ``(N, H, W)`` / ``(N, H, W, 3)`` / ``(N, D, H, W)``
with ``train_labels`` ``(N, K)``. Only the chosen item is read: the header gives shape
and dtype, and the reader seeks straight to the item's bytes, so a 10 GB archive costs
one picture of memory. Written by hand because ``np.load`` would load the whole stack.
"""

from __future__ import annotations

import math
import zipfile
from typing import BinaryIO

import numpy as np

from medlearn.data.image import MedImage
from medlearn.data.io.archive import check_entries
from medlearn.data.io.arrays import new_image, rgb_to_uint8, to_working_dtype
from medlearn.data.io.limits import check_shape, pick_index
from medlearn.data.io.source import Blob
from medlearn.errors import MedlearnInputError
from medlearn.text import visible


def _header(fh: BinaryIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.hasobject:
        raise MedlearnInputError(f"{name}: the array holds Python objects, not pixel values.")
    return tuple(shape), fortran, dtype


def _read(fh: BinaryIO, shape: tuple[int, ...], fortran: bool, dtype: np.dtype, index: int | None,
          name: str) -> np.ndarray:
    """The whole array (``index`` None) or item ``index`` along axis 0, read by seeking."""
    item_shape = shape if index is None else shape[1:]
    check_shape(item_shape, name, spatial_dims=2 if _is_picture(item_shape) else 3)
    count = math.prod(item_shape)
    if fortran and index is not None:
        raise MedlearnInputError(f"{name}: Fortran-ordered stacks are not supported; save with np.save.")
    if index:
        fh.seek(fh.tell() + index * count * dtype.itemsize)
    raw = np.empty(count * dtype.itemsize, np.uint8)
    if fh.readinto(raw) != raw.size:
        raise MedlearnInputError(f"{name}: the array file is truncated (fewer bytes than its header says).")
    return raw.view(dtype).reshape(item_shape, order="F" if fortran else "C")


def _is_picture(shape: tuple[int, ...]) -> bool:
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (3, 4))


def _image(arr: np.ndarray, blob: Blob, fmt: str, meta: dict) -> MedImage:
    if not _is_picture(arr.shape) and arr.ndim != 3:
        raise MedlearnInputError(
            f"{blob.name}: an array of shape {arr.shape} is not a 2D image, colour picture or 3D volume."
        )
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = rgb_to_uint8(arr)
    arr = to_working_dtype(arr, blob.name)
    return new_image(arr, modality="OT", orientation="2D" if _is_picture(arr.shape) else "ZYX",
                    source=blob.name, format=fmt, meta={**meta, "spacing_unit": "pixel"})


def read_npy(blob: Blob, volume_index: int | None = None) -> MedImage:
    """Read a ``.npy``: ``(H, W)``, ``(H, W, 3)``, ``(Z, Y, X)``, or a 4D stack of those
    (``(N, H, W, 3)`` / ``(N, Z, Y, X)``) where ``volume_index`` picks the item."""
    with blob.open() as fh:
        shape, fortran, dtype = _header(fh, blob.name)
        stacked = len(shape) == 4
        index = pick_index(volume_index, shape[0], "item", blob.name) if stacked else None
        arr = _read(fh, shape, fortran, dtype, index, blob.name)
    meta = {"items": shape[0], "item_index": index} if stacked else {}
    return _image(arr, blob, "npy", meta)


def _pick_key(names: list[str], name: str) -> str:
    """The array to show: MedMNIST's ``train_images`` (else ``val_``/``test_images``, else the one
    ``*image*`` array), or the only array. Several arrays with none of those names, or a key that
    looks like a path, are refused, naming the keys found: no array is picked by chance."""
    arrays = [n[:-4] for n in names if n.endswith(".npy")]
    if not arrays:
        raise MedlearnInputError(f"{name}: the .npz archive holds no arrays.")
    shown = ", ".join(repr(visible(k)) for k in arrays[:8]) + (" …" if len(arrays) > 8 else "")
    if any("/" in k or "\\" in k or k.startswith(".") for k in arrays):
        raise MedlearnInputError(f"{name}: the .npz holds keys that look like paths ({shown}); refusing it.")
    for wanted in ("train_images", "val_images", "test_images"):
        if wanted in arrays:
            return wanted
    images = [k for k in arrays if "image" in k.lower()]
    if len(images) == 1 or len(arrays) == 1:
        return images[0] if images else arrays[0]
    raise MedlearnInputError(f"{name}: the .npz holds {len(arrays)} arrays ({shown}) and none is clearly the "
                             "image: MedLearn reads an 'images' array (MedMNIST's train_images...) or a "
                             "single array. Save the image alone, or under the key 'images'.")


def _label(zf: zipfile.ZipFile, key: str, index: int, name: str) -> list[int] | None:
    label_key = key.replace("images", "labels") + ".npy"
    if label_key == key + ".npy" or label_key not in zf.namelist():
        return None
    with zf.open(label_key) as fh:
        shape, fortran, dtype = _header(fh, name)
        if not shape or shape[0] <= index:
            return None
        return [int(v) for v in np.ravel(_read(fh, shape, fortran, dtype, index, name))]


def read_npz(blob: Blob, volume_index: int | None = None) -> MedImage:
    """Read the first image array of an ``.npz`` (MedMNIST: ``train_images``).

    Arrays whose key names images (``*_images``) are stacks: axis 0 counts items and
    ``volume_index`` picks one (default 0); the matching ``*_labels`` entry goes to meta.
    """
    with zipfile.ZipFile(blob.open()) as zf:
        check_entries(zf, blob.name)
        key = _pick_key(zf.namelist(), blob.name)
        with zf.open(key + ".npy") as fh:
            shape, fortran, dtype = _header(fh, blob.name)
            stacked = "image" in key.lower() and len(shape) >= 3 or len(shape) == 4
            index = pick_index(volume_index, shape[0], "item", blob.name) if stacked else None
            arr = _read(fh, shape, fortran, dtype, index, blob.name)
        meta = {"key": key, "keys": [n[:-4] for n in zf.namelist() if n.endswith(".npy")]}
        if stacked:
            meta.update(items=shape[0], item_index=index)
            label = _label(zf, key, index, blob.name)
            if label is not None:
                meta["label"] = label
    return _image(arr, blob, "npz", meta)

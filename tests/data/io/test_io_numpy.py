"""NumPy readers: .npy arrays and MedMNIST-style .npz archives."""

import io

import numpy as np
import pytest

from medlearn.data.io import read_image
from medlearn.errors import MedlearnInputError


def _npy(arr, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _npz(compressed=True, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def test_npy_2d_3d_and_float64(tmp_path):
    (tmp_path / "a.npy").write_bytes(_npy(np.arange(12, dtype=np.int16).reshape(3, 4)))
    img = read_image(tmp_path / "a.npy")
    assert img.format == "npy" and img.shape == (3, 4) and img.pixels.dtype == np.int16
    vol = read_image(_npy(np.linspace(0, 1, 60).reshape(3, 4, 5)), "v.npy")
    assert vol.shape == (3, 4, 5) and vol.spatial_dims == 3 and vol.pixels.dtype == np.float32


def test_npy_stack_item_picked():
    stack = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    img = read_image(_npy(stack), "s.npy", volume_index=1)
    assert img.is_rgb and img.meta["items"] == 2 and img.meta["item_index"] == 1
    np.testing.assert_array_equal(img.pixels, stack[1])


@pytest.mark.parametrize("compressed", [True, False])
def test_medmnist_layout(compressed):
    images = np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28)
    labels = np.array([[0], [1], [2], [3], [4]], np.uint8)
    data = _npz(compressed, train_images=images, train_labels=labels, val_images=images[:2], val_labels=labels[:2])
    img = read_image(data, "breastmnist.npz", volume_index=3)
    assert img.format == "npz" and img.shape == (28, 28)
    np.testing.assert_array_equal(img.pixels, images[3])
    assert img.meta["key"] == "train_images" and img.meta["items"] == 5 and img.meta["label"] == [3]
    assert read_image(data, "b.npz").meta["item_index"] == 0


def test_npz_3d_items():
    cubes = np.random.default_rng(0).random((2, 6, 6, 6)).astype(np.float32)
    img = read_image(_npz(train_images=cubes), "nodule3d.npz", volume_index=1)
    assert img.shape == (6, 6, 6) and img.spatial_dims == 3
    np.testing.assert_array_equal(img.pixels, cubes[1])


@pytest.mark.parametrize(
    "data, name, kw, words",
    [
        (_npy(np.full((2, 2), np.nan)), "nan.npy", {}, "NaN"),
        (_npy(np.zeros((2, 3, 3, 3), np.uint8)), "s.npy", {"volume_index": 5}, "holds 2"),
        (_npy(np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True), "o.npy", {}, "objects"),
        (_npy(np.zeros((64, 64), np.uint16))[:200], "cut.npy", {}, "truncated"),
        (_npy(np.zeros(10)), "line.npy", {}, "not a 2D image"),
        (_npz(labels=np.zeros(3)), "nolabels.npz", {}, "not a 2D image"),
    ],
)
def test_bad_arrays(data, name, kw, words):
    with pytest.raises(MedlearnInputError, match=words):
        read_image(data, name, **kw)


def test_huge_header_refused_before_reading():
    buf = io.BytesIO()  # a header claiming 100000 x 100000 pixels, followed by a few bytes
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": (100000, 100000)})
    with pytest.raises(MedlearnInputError, match="pixels"):
        read_image(buf.getvalue() + b"\0" * 64, "bomb.npy")

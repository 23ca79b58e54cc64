"""Hostile archives and npz files are refused with the reason; no entry or key is picked by chance."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hostile_corpus import zip_bytes

from medlearn.data.io import read_image
from medlearn.errors import MedlearnInputError


@pytest.mark.parametrize("entries, symlink, why", [
    ([("../../evil.dcm", b"x" * 10), ("a.dcm", b"y" * 10)], None, "points outside the archive"),
    ([("/abs/slice.dcm", b"x" * 10)], None, "points outside the archive"),
    ([("s1.dcm", b"x" * 10)], "s2.dcm", "symbolic link"),
])
def test_traversal_and_symlinks_refuse_the_archive(make_dicom, entries, symlink, why):
    entries = [(n, make_dicom(np.zeros((8, 8), np.int16), instance=i + 1)) for i, (n, _) in enumerate(entries)]
    with pytest.raises(MedlearnInputError, match=why):
        read_image(zip_bytes(entries, symlink), "series.zip")


def test_a_name_twice_refuses_the_archive(make_dicom):
    slice_ = make_dicom(np.zeros((8, 8), np.int16))
    with pytest.raises(MedlearnInputError, match="twice"):
        read_image(zip_bytes([("s.dcm", slice_), ("s.dcm", slice_)]), "series.zip")


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_npz_keys_are_read_by_rule_or_refused_naming_them():
    img = np.zeros((16, 16), np.uint8)
    assert read_image(_npz(anything=img), "one.npz").meta["key"] == "anything"  # the only array
    assert read_image(_npz(val_images=img[None], test_images=img[None] + 1), "m.npz").meta["key"] == "val_images"
    with pytest.raises(MedlearnInputError, match=r"2 arrays \('a', 'b'\) and none is clearly the image"):
        read_image(_npz(a=img, b=img), "two.npz")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("../x_images.npy", "w") as fh:
            np.save(fh, img)
    with pytest.raises(MedlearnInputError, match="points outside the archive"):
        read_image(buf.getvalue(), "path.npz")

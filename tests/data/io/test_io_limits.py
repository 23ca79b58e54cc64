"""Size limits: uploads over 512 MB, and the input kinds read_image accepts."""

import io

import numpy as np
import pytest
from PIL import Image

from medlearn.data.io import MAX_UPLOAD_BYTES, read_image
from medlearn.data.io import limits
from medlearn.errors import MedlearnInputError


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_file_over_512_mb_refused_without_reading(tmp_path):
    path = tmp_path / "huge.dcm"
    with open(path, "wb") as fh:  # a sparse file: no disk or memory used
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(MedlearnInputError, match="512 MB"):
        read_image(path)


def test_upload_bytes_over_limit_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(MedlearnInputError, match="more than"):
        read_image(_png_bytes() + b"\0" * 100, "big.png")


def test_input_kinds(tmp_path):
    data = _png_bytes()
    (tmp_path / "a.png").write_bytes(data)
    for source, name in ((tmp_path / "a.png", None), (str(tmp_path / "a.png"), None), (data, "a.png"),
                         (bytearray(data), "a.png"), (io.BytesIO(data), "a.png"), ([("a.png", data)], None)):
        assert read_image(source, name).shape == (4, 4)


@pytest.mark.parametrize("source", [42, [], "/no/such/file.png"])
def test_bad_sources(source):
    with pytest.raises(MedlearnInputError):
        read_image(source)


def test_bad_volume_index():
    with pytest.raises(MedlearnInputError, match="whole number"):
        limits.pick_index("two", 3, "volume", "x")
    assert limits.pick_index(np.int64(2), 3, "volume", "x") == 2

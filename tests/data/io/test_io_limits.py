"""Size limits: uploads over the limit (the same number as Streamlit's), and the input kinds read_image accepts."""

import io
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medlearn.data.io import MAX_UPLOAD_BYTES, MAX_UPLOAD_MIB, read_image
from medlearn.data.io import limits
from medlearn.errors import MedlearnInputError


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_file_over_the_limit_refused_without_reading(tmp_path):
    path = tmp_path / "huge.dcm"
    with open(path, "wb") as fh:  # a sparse file: no disk or memory used
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(MedlearnInputError, match=f"more than the {MAX_UPLOAD_MIB} MiB MedLearn accepts"):
        read_image(path)
    with open(path, "wb") as fh:
        fh.truncate(MAX_UPLOAD_BYTES)  # exactly the limit: not refused for its size
    with pytest.raises(MedlearnInputError, match="not a DICOM image"):
        read_image(path)


def test_streamlit_upload_limit_is_the_readers_limit():
    """One number: ``server.maxUploadSize`` (Streamlit counts it in MiB) is MAX_UPLOAD_MIB."""
    config = tomllib.loads((Path(__file__).resolve().parents[3] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MIB
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MIB * 1024 * 1024


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


def test_a_file_that_would_not_fit_in_free_memory_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 600 * limits.MIB)  # 88 MiB above the reserve
    limits.check_shape((64, 256, 256), "small.nii", spatial_dims=3)  # 4 M voxels: ~40 MiB to decode
    with pytest.raises(MedlearnInputError, match=r"needs about \d+ MiB of memory .* 600 MiB free"):
        limits.check_shape((300, 256, 256), "big.nii", spatial_dims=3)
    monkeypatch.setattr(limits, "available_memory", lambda: None)  # the system does not say: no check
    limits.check_shape((300, 256, 256), "big.nii", spatial_dims=3)

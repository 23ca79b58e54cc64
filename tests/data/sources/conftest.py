"""Fixtures for source tests: tiny PNG/NIfTI writers and a local HTTP server.

The server listens on 127.0.0.1 only (no network needed), serves ``files``
(path -> bytes) with optional ``Range`` support and ``HEAD`` requests, records the
Range headers it got, and can cut a response short (``server.cut_after``) to simulate
a dropped connection.
"""

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path


def write_nifti(path: Path, array: np.ndarray, dtype=np.float32) -> Path:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array, dtype=dtype), np.diag([1.0, 1.0, 1.0, 1.0])), str(path))
    return path


@pytest.fixture
def png():
    return write_png


@pytest.fixture
def nifti():
    return write_nifti


@pytest.fixture
def no_mirror(monkeypatch):
    """Hide the real-data mirror so tests see only what they write."""
    monkeypatch.delenv("MEDLEARN_MIRROR", raising=False)



from file_server import serve  # noqa: E402  (one test file server for every download test)


def _closed_port() -> int:
    """A localhost port with nothing listening (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    """``serve(files, honour_range=True)``: a context manager yielding ``(base_url, server)``."""
    return serve


@pytest.fixture
def closed_port():
    """A localhost port nobody listens on."""
    return _closed_port()

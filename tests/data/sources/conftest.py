"""Fixtures for source tests: tiny PNG/NIfTI writers and a local HTTP server.

The server listens on 127.0.0.1 only (no network needed), serves ``files``
(path -> bytes) with optional ``Range`` support and ``HEAD`` requests, records the
Range headers it got, and can cut a response short (``server.cut_after``) to simulate
a dropped connection.
"""

import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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



class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        srv = self.server
        srv.ranges.append(self.headers.get("Range"))
        data = srv.files.get(self.path.split("?")[0])
        if data is None:
            self.send_error(404)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted and srv.honour_range:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: srv.cut_after] if srv.cut_after is not None else body)

    def do_HEAD(self):  # what ``download.probe`` asks: the size, no body
        data = self.server.files.get(self.path.split("?")[0])
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()


@contextmanager
def serve(files: dict[str, bytes], honour_range: bool = True):
    """Yield ``(base_url, server)``; the server stops when the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.honour_range, server.ranges, server.cut_after = files, honour_range, [], None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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

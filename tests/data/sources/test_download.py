"""The downloader against a local HTTP server: progress, resume, checksums, offline."""

import hashlib
import time

import pytest

from medlearn.data.sources.download import download, file_hash
from medlearn.errors import DatasetUnavailableError


DATA = bytes(range(256)) * 1000  # 256 kB, several chunks
MD5 = hashlib.md5(DATA).hexdigest()


def test_download_verifies_and_reports_progress(tmp_path, http_server):
    calls = []
    with http_server({"/d.bin": DATA}) as (url, _):
        path = download(f"{url}/d.bin", tmp_path / "sub" / "d.bin", md5=MD5,
                        progress=lambda d, t: calls.append((d, t)))
    assert path.read_bytes() == DATA and not (tmp_path / "sub" / "d.bin.part").exists()
    assert calls[0] == (0, len(DATA)) and calls[-1] == (len(DATA), len(DATA))
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:])) and len(calls) > 3


def test_download_resumes_a_partial_file_with_a_range_request(tmp_path, http_server):
    dest = tmp_path / "d.bin"
    (tmp_path / "d.bin.part").write_bytes(DATA[:100_000])
    calls = []
    with http_server({"/d.bin": DATA}) as (url, server):
        download(f"{url}/d.bin", dest, md5=MD5, progress=lambda d, t: calls.append((d, t)))
    assert server.ranges == ["bytes=100000-"]
    assert dest.read_bytes() == DATA and calls[0] == (100_000, len(DATA))


def test_server_ignoring_range_restarts_cleanly(tmp_path, http_server):
    (tmp_path / "d.bin.part").write_bytes(b"garbage" * 10)
    with http_server({"/d.bin": DATA}, honour_range=False) as (url, _):
        download(f"{url}/d.bin", tmp_path / "d.bin", md5=MD5)
    assert (tmp_path / "d.bin").read_bytes() == DATA


def test_complete_part_file_answered_416_is_verified(tmp_path, http_server):
    (tmp_path / "d.bin.part").write_bytes(DATA)
    with http_server({"/d.bin": DATA}) as (url, _):
        download(f"{url}/d.bin", tmp_path / "d.bin", md5=MD5)
    assert file_hash(tmp_path / "d.bin") == MD5


def test_checksum_mismatch_deletes_the_part_and_raises(tmp_path, http_server):
    with http_server({"/d.bin": DATA}) as (url, _):
        with pytest.raises(DatasetUnavailableError, match="damaged"):
            download(f"{url}/d.bin", tmp_path / "d.bin", md5="0" * 32)
    assert not (tmp_path / "d.bin").exists() and not (tmp_path / "d.bin.part").exists()


def test_dropped_connection_keeps_the_part_then_resumes(tmp_path, http_server):
    with http_server({"/d.bin": DATA}) as (url, server):
        server.cut_after = 50_000
        with pytest.raises(DatasetUnavailableError):
            download(f"{url}/d.bin", tmp_path / "d.bin", md5=MD5, timeout=2)
        assert (tmp_path / "d.bin.part").stat().st_size == 50_000
        server.cut_after = None
        download(f"{url}/d.bin", tmp_path / "d.bin", md5=MD5)
    assert (tmp_path / "d.bin").read_bytes() == DATA and server.ranges[-1] == "bytes=50000-"


def test_verified_file_is_not_downloaded_again(tmp_path, http_server):
    (tmp_path / "d.bin").write_bytes(DATA)
    with http_server({"/d.bin": DATA}) as (url, server):
        download(f"{url}/d.bin", tmp_path / "d.bin", md5=MD5)
    assert server.ranges == []


def test_http_error_is_a_dataset_unavailable_error(tmp_path, http_server):
    with http_server({}) as (url, _):
        with pytest.raises(DatasetUnavailableError, match="HTTP 404"):
            download(f"{url}/missing.bin", tmp_path / "m.bin")


def test_offline_fails_fast_with_a_clear_message(tmp_path, closed_port):
    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError, match="offline"):
        download(f"http://127.0.0.1:{closed_port}/x.bin", tmp_path / "x.bin", md5=MD5, timeout=2)
    assert time.monotonic() - start < 3

"""A checksum-verified, resumable HTTP(S) downloader with a progress callback.

Why our own and not ``monai.apps.download_url`` or ``torchvision``'s helper: neither
resumes an interrupted download (HTTP ``Range`` into a ``.part`` file), neither reports
progress to a callback the web UI can draw, and both can wait a long time when the
machine is offline. This module does those three things with the standard library.

Flow: ``dest`` already present and verified -> done. Otherwise bytes go to
``dest + ".part"``; an existing ``.part`` is resumed with ``Range: bytes=N-`` (a server
that ignores ranges answers 200 and we start again). When complete, the checksum is
checked; a mismatch deletes the ``.part`` and raises :class:`DatasetUnavailableError`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

from medlearn.data.sources.base import Progress
from medlearn.errors import DatasetUnavailableError

CHUNK = 1 << 16
USER_AGENT = "medlearn-downloader/1.0 (+https://github.com/medlearn)"


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, md5: str | None = None, sha256: str | None = None, size: int | None = None) -> bool:
    """True when the file exists and matches every check given."""
    if not path.is_file() or (size is not None and path.stat().st_size != size):
        return False
    if md5 and file_hash(path, "md5") != md5.lower():
        return False
    return not sha256 or file_hash(path, "sha256") == sha256.lower()


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    progress: Progress | None = None,
    timeout: float = 10.0,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous attempt; verify; return the path.

    Args:
        url: http(s) address.
        dest: final file path; its folder is created.
        md5, sha256, size: expected checksum(s) and byte size (any may be None).
        progress: called as ``progress(done_bytes, total_bytes)``; total is 0 when
            the server does not say.
        timeout: seconds for connecting and for each read (no hang when offline).

    Raises:
        DatasetUnavailableError: offline, server error, or checksum mismatch.
    """
    dest = Path(dest)
    if verify(dest, md5, sha256, size) and (md5 or sha256 or size):
        _report(progress, dest.stat().st_size, dest.stat().st_size)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    _fetch_into(url, part, progress, timeout)
    if not verify(part, md5, sha256, size):
        got = part.stat().st_size
        part.unlink(missing_ok=True)
        raise DatasetUnavailableError(
            f"The file downloaded from {url} is damaged (checksum or size mismatch, "
            f"{got} bytes); it was deleted. Run the download again."
        )
    os.replace(part, dest)
    return dest


def _fetch_into(url: str, part: Path, progress: Progress | None, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have > 0 and response.status == 206
            done = have if resumed else 0
            length = int(response.headers.get("Content-Length") or 0)
            total = done + length if length else 0
            with open(part, "ab" if resumed else "wb") as out:
                _report(progress, done, total)
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    done += len(block)
                    _report(progress, done, total)
            if total and done < total:
                raise DatasetUnavailableError(
                    f"The download from {url} stopped early ({done} of {total} bytes); "
                    "run it again to resume."
                )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part already holds the whole file
            _report(progress, have, have)
            return
        raise DatasetUnavailableError(
            f"The server refused the download of {url} (HTTP {exc.code})."
        ) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetUnavailableError(
            f"Cannot download {url}: {reason}. Are you offline? Connect to the internet, "
            "or copy the dataset here by hand and import it with `fetch NAME --from DIR`."
        ) from None


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(int(done), int(total))

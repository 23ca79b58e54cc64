"""A checksum-verified, resumable HTTP(S) downloader with a progress callback.

Why our own and not ``monai.apps.download_url`` or ``torchvision``'s helper: neither
resumes an interrupted download (HTTP ``Range`` into a ``.part`` file), neither reports
progress to a callback the web UI can draw, and both can wait a long time when the
machine is offline. This module does those three things with the standard library.

Flow: ``dest`` already present and verified -> done. Otherwise bytes go to
``dest + ".part"``; an existing ``.part`` is resumed with ``Range: bytes=N-`` (a server
that ignores ranges answers 200 and we start again). When complete, the checksum is
checked; a mismatch deletes the ``.part`` and raises :class:`DatasetUnavailableError`.
A download larger than the disk's free space is refused before it starts.

A source says which file it downloads with a :class:`RemoteFile` (official address,
MD5, destination, about how big). ``$MEDLEARN_DOWNLOAD_BASE`` replaces the official
host: the file is then asked for as ``<base>/<file name>`` (a local or institutional
mirror of the official files; the tests point it at a server on 127.0.0.1).
:func:`probe` says within a bounded time whether an address answers, and how big it is.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from medlearn.data import home
from medlearn.data.sources.base import Progress
from medlearn.errors import DatasetUnavailableError

CHUNK = 1 << 16
USER_AGENT = "medlearn-downloader/1.0 (+https://github.com/medlearn)"
BASE_ENV = "MEDLEARN_DOWNLOAD_BASE"


@dataclass(frozen=True)
class RemoteFile:
    """The one file a download source fetches.

    Attributes:
        official_url: where the dataset's authors publish it.
        md5: its published checksum.
        dest: where it is saved (in the data home), under its published name; the
            partial download is ``dest.part``.
        approx_mb: about how big it is, for people (None when unknown); :func:`probe`
            gives the exact size when the machine is online.
    """

    official_url: str
    md5: str
    dest: Path
    approx_mb: float | None = None

    @property
    def name(self) -> str:
        """The file name, as published (``retinamnist.npz``)."""
        return self.dest.name

    @property
    def url(self) -> str:
        """The official address, or ``$MEDLEARN_DOWNLOAD_BASE/<name>`` when that is set."""
        base = os.environ.get(BASE_ENV, "").strip().rstrip("/")
        return f"{base}/{self.name}" if base else self.official_url

    @property
    def partial_bytes(self) -> int:
        """Bytes of an interrupted download waiting to be resumed (0 when none)."""
        part = part_path(self.dest)
        return part.stat().st_size if part.is_file() else 0

    def fetch(self, progress: Progress | None = None) -> Path:
        """Download (or resume) it to :attr:`dest`, MD5-checked; see :func:`download`."""
        return download(self.url, self.dest, md5=self.md5, progress=progress)


def probe(url: str, timeout: float = 2.0) -> int | None:
    """Whether ``url`` answers within ``timeout`` seconds, name lookup included: its size in
    bytes (0 when the server does not say), or None when it cannot be reached (offline).

    A ``HEAD`` request (no download) in a daemon thread, so a stuck name lookup cannot
    hold the caller longer than ``timeout``; honours the usual proxy variables.
    """
    answer: list[int] = []

    def ask() -> None:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer.append(int(response.headers.get("Content-Length") or 0))
        except urllib.error.HTTPError:  # the server answered: the machine is online
            answer.append(0)
        except (OSError, ValueError, http.client.HTTPException):
            pass

    thread = threading.Thread(target=ask, name="medlearn-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return answer[0] if answer else None


def part_path(dest: Path) -> Path:
    """Where the download of ``dest`` collects its bytes until it is complete and checked."""
    return dest.with_name(dest.name + ".part")


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, md5: str | None = None, sha256: str | None = None, size: int | None = None) -> bool:
    """True when the file exists and matches every check given; ``sha256`` may be the digest's
    first hex digits (torchvision names each weights file with them: ``resnet18-f37072fd.pth``)."""
    if not path.is_file() or (size is not None and path.stat().st_size != size):
        return False
    if md5 and file_hash(path, "md5") != md5.lower():
        return False
    return not sha256 or file_hash(path, "sha256").startswith(sha256.lower())


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
        md5, sha256, size: expected checksum(s) and byte size (any may be None); ``sha256``
            may be a prefix of the digest.
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
    home.ensure_dir(dest.parent)
    part = part_path(dest)
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
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part already holds the whole file
            _report(progress, have, have)
            return
        raise DatasetUnavailableError(
            f"The server refused the download of {url} (HTTP {exc.code})."
        ) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetUnavailableError(
            f"Cannot download {url}: {reason}. Are you offline? Connect to the internet, "
            "or copy the dataset here by hand and import it with `fetch NAME --from DIR`."
        ) from None
    with response:
        resumed = have > 0 and response.status == 206
        done = have if resumed else 0
        length = int(response.headers.get("Content-Length") or 0)
        total = done + length if length else 0
        _check_space(part.parent, length if resumed else length - have)  # a restart overwrites the .part
        try:
            with open(part, "ab" if resumed else "wb") as out:
                _report(progress, done, total)
                for block in _blocks(response, url):
                    out.write(block)
                    done += len(block)
                    _report(progress, done, total)
        except OSError as exc:
            raise DatasetUnavailableError(
                f"Cannot write {part} ({exc.strerror or exc}). Is the disk full? Free some space, or set "
                "MEDLEARN_HOME to a folder on a disk with room; the download resumes where it stopped."
            ) from None
    if total and done < total:
        raise DatasetUnavailableError(
            f"The download from {url} stopped early ({done} of {total} bytes); run it again to resume."
        )


def _blocks(response, url: str):
    """The response body in chunks; a connection lost midway is a readable error (the .part stays)."""
    while True:
        try:
            block = response.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise DatasetUnavailableError(
                f"The download from {url} broke off ({exc}); run it again to resume where it stopped."
            ) from None
        if not block:
            return
        yield block


def _check_space(folder: Path, needed: int) -> None:
    """Refuse a download the disk has no room for, before writing a byte."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DatasetUnavailableError(
            f"Not enough free disk space: the download needs {needed / 1e6:.1f} MB and {folder} has "
            f"{free / 1e6:.1f} MB free. Free some space, or set MEDLEARN_HOME to a folder on a larger disk."
        )


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(int(done), int(total))

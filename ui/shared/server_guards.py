"""ASGI middleware in front of Streamlit's own server (``serve.py`` mounts it with ``st.App``).

Why our own code: Streamlit has no setting for either guard, and a reverse proxy (nginx)
is not part of the two-command install.

* :class:`SecurityHeaders` adds ``X-Content-Type-Options: nosniff`` to every HTTP
  response (pictures, downloads, the app's pages), so a browser never guesses that a
  served file is HTML or script.
* :class:`UploadAdmission` bounds the memory that upload bodies take. Streamlit reads a
  whole upload into memory and keeps it in its upload manager until the page's script has
  used it; twenty students sending a 150 MB volume at once held 3 GB before any script ran
  (docs/RESULTS.md, memory benchmark). A PUT to ``/_stcore/upload_file`` now waits, before
  its body is read (the server stops reading the socket meanwhile), until the bytes of the
  uploads being received and of those Streamlit still holds, plus this one, fit the budget
  (``MEDLEARN_UPLOAD_BUDGET_MIB``, default 256); a file larger than half the budget counts
  as half of it, so even a file larger than the budget arrives once the others are used. The browser shows the upload as in
  progress while it waits; after ``wait_s`` it is refused with 503 and a reason.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Callable

UPLOAD_PATH = "/_stcore/upload_file/"
DEFAULT_BUDGET_MIB = 256
POLL_S = 0.1


def _held_by_streamlit() -> int:
    """Bytes of uploads Streamlit's upload manager holds now (0 when it cannot be read)."""
    try:
        from streamlit.runtime import Runtime

        return int(getattr(Runtime.instance().uploaded_file_mgr, "_total_bytes", 0))
    except Exception:  # no runtime yet, or another manager: count only what is in flight
        return 0


def budget_bytes() -> int:
    """The upload budget from ``MEDLEARN_UPLOAD_BUDGET_MIB`` (MiB; default 256)."""
    try:
        mib = float(os.environ.get("MEDLEARN_UPLOAD_BUDGET_MIB", DEFAULT_BUDGET_MIB))
    except ValueError:
        mib = DEFAULT_BUDGET_MIB
    return int(max(mib, 1) * 1024 * 1024)


class SecurityHeaders:
    """Adds ``X-Content-Type-Options: nosniff`` to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"]
                message = {**message, "headers": headers + [(b"x-content-type-options", b"nosniff")]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UploadAdmission:
    """Lets an upload's body in only when the upload memory budget has room (see module doc)."""

    def __init__(self, app, budget: int | None = None, wait_s: float = 600.0,
                 held: Callable[[], int] = _held_by_streamlit):
        self.app = app
        self.budget = budget_bytes() if budget is None else int(budget)
        self.wait_s = wait_s
        self.held = held
        self.in_flight = 0  # bytes admitted and not yet handed to Streamlit
        self.receiving = 0  # uploads admitted and not finished
        self.waited = 0  # uploads that had to wait (for the benchmark and tests)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "PUT" or UPLOAD_PATH not in scope.get("path", ""):
            return await self.app(scope, receive, send)
        size = _content_length(scope)
        if not await self._admit(size):
            return await _refuse(send, "The server is busy receiving other uploads; try again in a minute.")
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= size
            self.receiving -= 1

    def room_for(self, size: int) -> bool:
        """Whether ``size`` more bytes fit now. A file larger than half the budget counts as
        half of it: it waits until at most half the budget is in use, then arrives (alone, or
        beside small files), so no file the page accepts waits for ever."""
        return self.in_flight + self.held() + min(size, self.budget // 2) <= self.budget

    async def _admit(self, size: int) -> bool:
        deadline = time.monotonic() + self.wait_s
        waited = False
        while not self.room_for(size):
            if time.monotonic() > deadline:
                return False
            waited = True
            await asyncio.sleep(POLL_S)
        self.waited += waited
        self.in_flight += size  # no await between the check and this: the event loop runs one coroutine at a time
        self.receiving += 1
        return True


def _content_length(scope) -> int:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return max(int(value), 0)
            except ValueError:
                return 0
    return 0


async def _refuse(send, reason: str) -> None:
    body = reason.encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"60"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

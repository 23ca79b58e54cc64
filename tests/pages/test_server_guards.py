"""The ASGI guards in front of Streamlit (ui.shared.server_guards): nosniff and the upload budget."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path


from ui.shared.server_guards import SecurityHeaders, UploadAdmission, budget_bytes

ROOT = Path(__file__).resolve().parents[2]


def _scope(path="/_stcore/upload_file/s/f", method="PUT", size=100):
    return {"type": "http", "method": method, "path": path, "headers": [(b"content-length", str(size).encode())]}


class Recorder:
    """An ASGI app that records its calls and finishes when told to."""

    def __init__(self):
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send):
        name = scope["path"]
        self.started.append(name)
        event = self.release.setdefault(name, asyncio.Event())
        await event.wait()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-content-type-options", b"sniff-me")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(app, scope):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(scope, receive, send)
    return sent


def test_security_headers_replace_any_sniffing_header():
    async def main():
        inner = Recorder()
        inner.release["/x"] = asyncio.Event()
        inner.release["/x"].set()
        sent = await _call(SecurityHeaders(inner), _scope("/x", "GET"))
        headers = sent[0]["headers"]
        assert (b"x-content-type-options", b"nosniff") in headers
        assert all(v == b"nosniff" for k, v in headers if k == b"x-content-type-options")

    asyncio.run(main())


def test_uploads_beyond_the_budget_wait_for_room_and_others_pass():
    async def main():
        inner = Recorder()
        guard = UploadAdmission(inner, budget=150, held=lambda: 0)
        first = asyncio.create_task(_call(guard, _scope("/_stcore/upload_file/a/1", size=100)))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(_call(guard, _scope("/_stcore/upload_file/b/2", size=100)))
        page = asyncio.create_task(_call(guard, _scope("/health", "GET")))
        await asyncio.sleep(0.3)
        assert inner.started == ["/_stcore/upload_file/a/1", "/health"]  # the second upload waits; pages do not
        inner.release["/health"].set()
        inner.release["/_stcore/upload_file/a/1"].set()
        await first
        await asyncio.sleep(0.3)
        assert inner.started[-1] == "/_stcore/upload_file/b/2"  # room again: admitted
        inner.release["/_stcore/upload_file/b/2"].set()
        await asyncio.gather(second, page)
        assert guard.waited == 1 and guard.in_flight == 0 and guard.receiving == 0

    asyncio.run(main())


def test_bytes_streamlit_still_holds_count_against_the_budget():
    held = {"bytes": 120}

    async def main():
        inner = Recorder()
        guard = UploadAdmission(inner, budget=150, held=lambda: held["bytes"])
        one = asyncio.create_task(_call(guard, _scope("/_stcore/upload_file/a/1", size=10)))
        await asyncio.sleep(0.05)
        two = asyncio.create_task(_call(guard, _scope("/_stcore/upload_file/b/2", size=50)))
        await asyncio.sleep(0.3)
        assert inner.started == ["/_stcore/upload_file/a/1"]  # 10 in flight + 120 held + 50 > 150
        held["bytes"] = 0  # the page's script used its file and released it
        await asyncio.sleep(0.3)
        assert inner.started[-1] == "/_stcore/upload_file/b/2"
        for event in inner.release.values():
            event.set()
        await asyncio.gather(one, two)

    asyncio.run(main())


def test_a_lone_upload_larger_than_the_budget_still_arrives_and_a_long_wait_is_refused():
    async def main():
        inner = Recorder()
        guard = UploadAdmission(inner, budget=10, held=lambda: 0, wait_s=0.3)
        big = asyncio.create_task(_call(guard, _scope("/_stcore/upload_file/a/1", size=1000)))
        await asyncio.sleep(0.05)
        assert inner.started == ["/_stcore/upload_file/a/1"]
        refused = await _call(guard, _scope("/_stcore/upload_file/b/2", size=1000))
        assert refused[0]["status"] == 503 and b"busy" in refused[1]["body"]
        inner.release["/_stcore/upload_file/a/1"].set()
        await big

    asyncio.run(main())


def test_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEDLEARN_UPLOAD_BUDGET_MIB", "64")
    assert budget_bytes() == 64 * 1024 * 1024
    monkeypatch.setenv("MEDLEARN_UPLOAD_BUDGET_MIB", "lots")
    assert budget_bytes() == 256 * 1024 * 1024


def test_the_shipped_entry_serves_the_app_with_nosniff(tmp_path):
    from bench.serve import ENTRY, StreamlitServer

    with StreamlitServer(ENTRY, env={"MEDLEARN_HOME": str(tmp_path), "MEDLEARN_AUTOTRAIN": "0"}) as server:
        for path in ("/", "/_stcore/health"):
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.status == 200

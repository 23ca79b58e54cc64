"""Start and stop a Streamlit server on a free 127.0.0.1 port, and measure its memory.

Used by the app and classroom benchmarks. The server's memory is the resident set
(``VmRSS`` in ``/proc/<pid>/status``) of the process and all its descendants (found
through ``/proc/<pid>/task/*/children``): training workers and spawned helpers count.
Hand-written over ``/proc`` because psutil is not a MedLearn dependency.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "serve.py"  # the shipped server entry (scripts/start.sh): app.py behind ui.shared.server_guards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (children of every thread, recursively)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:  # the thread or process ended meanwhile
                continue
    return out


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, in bytes."""
    total = 0
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


class StreamlitServer:
    """``streamlit run SCRIPT`` as a context manager.

    Args:
        script: the app file (``app.py`` or a temporary hello-world app).
        env: extra environment variables (``MEDLEARN_HOME`` ...).
        cwd: working directory (default: the repository root).
        timeout_s: how long :meth:`wait_healthy` waits.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
        started: ``time.perf_counter()`` just before the process was spawned.
    """

    def __init__(self, script: str | Path, env: dict | None = None, cwd: str | Path | None = None,
                 timeout_s: float = 90.0):
        self.script, self.cwd, self.timeout_s = str(script), str(cwd or ROOT), timeout_s
        self.env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> "StreamlitServer":
        cmd = [sys.executable, "-m", "streamlit", "run", self.script, "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_healthy(self) -> float:
        """Block until ``/_stcore/health`` answers ``ok``; returns seconds since spawn."""
        deadline = time.perf_counter() + self.timeout_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode} before serving")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"streamlit did not answer on {self.url} within {self.timeout_s:.0f} s")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        """CPU seconds used so far by the server and its children."""
        return cpu_seconds(self.proc.pid)

    def rss(self) -> int:
        """Resident memory of the server and its children, in bytes."""
        return rss_bytes(self.proc.pid)

    def stop(self) -> None:
        """Terminate the server (then kill it, and any child it left, after 15 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        tree = descendants(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for pid in tree[1:]:  # workers the server spawned (only ours: ids taken from its tree)
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def __enter__(self) -> "StreamlitServer":
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- watching a page draw (Playwright, async API) ----------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Drawn: the app view exists, ``selector`` holds ``text``, nothing stale, no spinner or
# "running" widget, and every picture has loaded.
_DRAWN_JS = """([selector, text]) => {
  if (!document.querySelector('[data-testid="stAppViewContainer"]')) return false;
  if (![...document.querySelectorAll(selector)].some(e => e.innerText.includes(text))) return false;
  const busy = '[data-testid="stSpinner"], [data-testid="stStatusWidget"], [data-stale="true"]';
  if (document.querySelector(busy)) return false;
  return [...document.images].every(i => i.complete);
}"""


async def launch(playwright):
    """Headless Chromium with the flags the benchmarks use."""
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class RunWatcher:
    """Follows a page's Streamlit websocket: script runs started/finished, exceptions shown.

    Reads the server's ``ForwardMsg`` protobufs, so "the script run is over" is known
    exactly rather than guessed from the running-man widget (which appears after a delay).
    """

    def __init__(self, page):
        self.finished, self.exceptions, self.running = 0, 0, False
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        from google.protobuf.message import DecodeError
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        try:
            msg = ForwardMsg.FromString(payload)
        except DecodeError:
            return
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.running = True
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "script_finished":
            self.finished, self.running = self.finished + 1, False
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self.exceptions += msg.delta.new_element.WhichOneof("type") == "exception"


async def wait_drawn(page, watcher: RunWatcher, text: str, since: int, selector: str = "h1",
                     timeout_s: float = 120.0, quiet_s: float = 0.3) -> float:
    """Wait until a run that finished after ``since`` runs has left the page drawn.

    Returns the ``time.perf_counter()`` at which the page was first found drawn (it must
    then stay drawn, with no new run, for ``quiet_s``). Raises TimeoutError.
    """
    import asyncio

    first, deadline = None, time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        ok = watcher.finished > since and not watcher.running
        ok = ok and await page.evaluate(_DRAWN_JS, [selector, text])
        now = time.perf_counter()
        if ok and first is None:
            first = now
        elif not ok:
            first = None
        if first is not None and now - first >= quiet_s:
            return first
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{page.url} was not drawn with {text!r} within {timeout_s:.0f} s")

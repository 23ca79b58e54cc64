"""Shared by the browser tests: start a Streamlit server, wait for pages, save screenshots."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.serve import ENTRY  # the shipped server entry (serve.py)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS = os.environ.get("MEDLEARN_SCREENSHOTS") == "1"
MAX_SHOT_BYTES = 500_000
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(home: str | Path | None = None, start_timeout_s: float = 90):
    """``streamlit run serve.py`` (the shipped entry) on a free 127.0.0.1 port (``MEDLEARN_HOME=home`` when given); yields the URL."""
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if home is not None:
        env["MEDLEARN_HOME"] = str(home)
    cmd = [sys.executable, "-m", "streamlit", "run", ENTRY, "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + start_timeout_s
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the Streamlit server did not start within {start_timeout_s:.0f} s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def settle(page, quiet_s: float = 2.5, limit_s: float = 180) -> None:
    """Wait until the title is drawn and the "running" indicator has stayed away for ``quiet_s``."""
    page.wait_for_selector("h1", timeout=120_000)
    running = page.locator('[data-testid="stStatusWidget"]')
    quiet_since, deadline = time.time(), time.time() + limit_s
    while time.time() - quiet_since < quiet_s:
        if time.time() > deadline:
            pytest.fail(f"{page.url} was still running after {limit_s} s")
        if running.count():
            quiet_since = time.time()
        page.wait_for_timeout(250)


def save_screenshot(page, name: str) -> None:
    """A full-page screenshot to ``docs/screenshots/<name>.png``, quantised to stay small."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    # Streamlit scrolls inside its main container, so grow the viewport to the content first.
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], int(height))})
    page.wait_for_timeout(800)
    picture = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    page.set_viewport_size(VIEWPORT)
    for colours in (256, 128, 64):
        buffer = io.BytesIO()
        picture.quantize(colours, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_SHOT_BYTES:
            break
        if colours == 64:  # still too large: halve the size
            picture = picture.resize((picture.width // 2, picture.height // 2))
            buffer = io.BytesIO()
            picture.quantize(64).save(buffer, "PNG", optimize=True)
    (SHOTS / f"{name}.png").write_bytes(buffer.getvalue())

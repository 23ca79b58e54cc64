"""Drive the running app in headless Chromium: every page renders without an exception box.

Set ``MEDLEARN_SCREENSHOTS=1`` to also write full-page screenshots (1400x900 viewport)
to ``docs/screenshots/<page>.png``.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
MAX_SHOT_BYTES = 500_000
VIEWPORT = {"width": 1400, "height": 900}
PAGES = {"home": "", "retina": "retina", "breast": "breast", "lung": "lung", "hippocampus": "hippocampus",
         "heart": "heart", "gastric": "gastric", "try": "try", "race": "race"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, MEDLEARN_HOME=str(tmp_path_factory.mktemp("home")), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Streamlit server did not start within 90 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settle(page, quiet_s: float = 2.5, limit_s: float = 180) -> None:
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


def _save(page, name: str) -> None:
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


def _volume(folder: Path) -> Path:
    from medlearn.data.io import save_image
    from medlearn.data.phantoms import generate

    path = folder / "hippocampus_phantom.nii.gz"
    save_image(generate("hippocampus", seed=3)[0].image, path)
    return path


def test_every_page_renders_without_exception(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    volume = _volume(tmp_path)
    screenshots = os.environ.get("MEDLEARN_SCREENSHOTS") == "1"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            for name, path in PAGES.items():
                page.goto(f"{app_url}/{path}")
                _settle(page)
                assert page.locator('[data-testid="stException"]').count() == 0, f"exception on page {name}"
                assert page.locator("h1").first.inner_text().strip(), f"page {name} has no title"
                if name == "try":  # show the upload path working: a synthetic MR volume
                    page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(volume))
                    page.wait_for_selector('[data-testid="stImage"]', timeout=60_000)
                    _settle(page)
                    assert page.locator('[data-testid="stException"]').count() == 0, "exception after upload"
                if screenshots:
                    _save(page, name)
        finally:
            browser.close()

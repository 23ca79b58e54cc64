"""Headless Chromium: open a case page, go to Predict, upload a file, see the prediction and its overlay.

With ``MEDLEARN_SCREENSHOTS=1`` it also writes ``docs/screenshots/predict_*.png`` and
``extra_*.png`` (the Predict section of a classification and a segmentation case, and
two case extras).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:  # helpers of the page tests and of the other browser test (same launch flags, same waits)
    from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, VIEWPORT, _save, _settle
except ImportError:  # pragma: no cover - importlib import mode
    from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, VIEWPORT, _save, _settle

sys.path.insert(0, str(ROOT / "tests" / "pages"))
from test_predict import make_checkpoint  # noqa: E402

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt install chromium)"),
]
SCREENSHOTS = os.environ.get("MEDLEARN_SCREENSHOTS") == "1"


@pytest.fixture
def app_url(tmp_path):
    """A server on this test's MEDLEARN_HOME, where the test has saved its checkpoints."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def _ultrasound_png(folder: Path) -> Path:
    from medlearn.data.phantoms import generate

    path = folder / "my_ultrasound.png"
    Image.fromarray(np.asarray(generate("breast", seed=5)[0].image.pixels, np.uint8)).save(path)
    return path


def _clean(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception: {where}"


def test_upload_in_predict_shows_prediction_and_overlay(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    cases = ("breast", "hippocampus", "heart") if SCREENSHOTS else ("breast",)
    for case in cases:
        make_checkpoint(case)
    png = _ultrasound_png(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{app_url}/breast?section=predict")  # the section is part of the link
            _settle(page)
            page.get_by_text("Upload", exact=True).click()
            _settle(page)
            page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(png))
            page.get_by_text("For teaching, not for clinical use.").last.wait_for(timeout=120_000)
            _settle(page)
            _clean(page, "after the upload")
            main = page.locator('[data-testid="stMain"]')
            assert main.get_by_text("Model:").count() >= 1
            assert main.get_by_text("heat map", exact=False).count() >= 1  # the overlay's caption
            assert main.locator('[data-testid="stImage"]').count() >= 1
            if SCREENSHOTS:
                _save(page, "predict_breast_upload")
                _more_screenshots(page, app_url)
        finally:
            browser.close()


def _more_screenshots(page, url: str) -> None:
    """The Predict section of a segmentation case, and two extras, for the docs."""
    for case, name in (("hippocampus", "predict_hippocampus"), ("heart", "predict_heart")):
        page.goto(f"{url}/{case}?section=predict")
        _settle(page)
        _clean(page, name)
        _save(page, name)
    page.goto(f"{url}/breast")
    _settle(page)
    page.get_by_text("Adaptive contrast enhancement (ACE) against CLAHE").scroll_into_view_if_needed()
    _clean(page, "breast extra")
    _save(page, "extra_breast_ace")
    page.goto(f"{url}/heart")
    _settle(page)
    page.get_by_text("Measure EF on these cines").click()
    _settle(page, limit_s=240)
    _clean(page, "heart extra")
    _save(page, "extra_heart_ef")

"""Headless Chromium: open a case page, go to Predict, upload a file, see the prediction and its overlay.

With ``MEDLEARN_SCREENSHOTS=1`` it also writes ``docs/screenshots/predict_*.png`` and
``extra_*.png`` (the Predict section of a classification and a segmentation case, and
two case extras).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, MARKS, ROOT, SCREENSHOTS, VIEWPORT, save_screenshot, settle

sys.path.insert(0, str(ROOT / "tests" / "pages"))
from model_fixtures import make_checkpoint  # noqa: E402  (page tests' checkpoint helper)

pytestmark = MARKS
SHOT_CASES = ("retina", "lung", "hippocampus", "heart", "gastric")  # Predict sections saved for the docs


def _ultrasound_png(folder: Path) -> Path:
    from medlearn.data.phantoms import generate

    path = folder / "my_ultrasound.png"
    Image.fromarray(np.asarray(generate("breast", seed=5)[0].image.pixels, np.uint8)).save(path)
    return path


def _trained(case: str) -> bool:
    """A finished run of the case is in the store already (screenshots from a prepared home)."""
    from medlearn.train.store import RunStore

    return bool(RunStore().list_runs(case=case, status="done"))


def _clean(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception: {where}"


def test_upload_in_predict_shows_prediction_and_overlay(app_url_here, tmp_path):
    app_url = app_url_here
    from playwright.sync_api import sync_playwright

    cases = ("breast", *SHOT_CASES) if SCREENSHOTS else ("breast",)
    for case in cases:
        if not _trained(case):
            make_checkpoint(case)
    png = _ultrasound_png(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{app_url}/breast?section=predict")  # the section is part of the link
            settle(page)
            page.get_by_text("Upload", exact=True).click()
            settle(page)
            page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(png))
            page.get_by_text("For teaching, not for clinical use.").last.wait_for(timeout=120_000)
            settle(page)
            _clean(page, "after the upload")
            main = page.locator('[data-testid="stMain"]')
            assert main.get_by_text("Model:").count() >= 1
            assert main.get_by_text("heat map", exact=False).count() >= 1  # the overlay's caption
            assert main.locator('[data-testid="stImage"]').count() >= 1
            if SCREENSHOTS:
                save_screenshot(page, "predict_breast_upload")
                _more_screenshots(page, app_url)
        finally:
            browser.close()


def _more_screenshots(page, url: str) -> None:
    """The Predict section of every other case, and two extras, for the docs."""
    for case in SHOT_CASES:
        name = f"predict_{case}"
        page.goto(f"{url}/{case}?section=predict")
        settle(page)
        _clean(page, name)
        save_screenshot(page, name)
    page.goto(f"{url}/breast")
    settle(page)
    page.get_by_text("Adaptive contrast enhancement (ACE) against CLAHE").scroll_into_view_if_needed()
    _clean(page, "breast extra")
    save_screenshot(page, "extra_breast_ace")
    page.goto(f"{url}/heart")
    settle(page)
    page.get_by_text("Measure EF on these cines").click()
    settle(page, limit_s=240)
    _clean(page, "heart extra")
    save_screenshot(page, "extra_heart_ef")

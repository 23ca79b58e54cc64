"""Drive the running app in headless Chromium: every page renders without an exception box.

Set ``MEDLEARN_SCREENSHOTS=1`` to also write full-page screenshots (1400x900 viewport)
to ``docs/screenshots/<page>.png``.
"""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, MARKS, SCREENSHOTS, VIEWPORT, save_screenshot, settle

PAGES = {"home": "", "retina": "retina", "breast": "breast", "lung": "lung", "hippocampus": "hippocampus",
         "heart": "heart", "gastric": "gastric", "try": "try", "race": "race"}
pytestmark = MARKS


def _volume(folder: Path) -> Path:
    from medlearn.data.io import save_image
    from medlearn.data.phantoms import generate

    path = folder / "hippocampus_phantom.nii.gz"
    save_image(generate("hippocampus", seed=3)[0].image, path)
    return path


def test_every_page_renders_without_exception(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    volume = _volume(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            for name, path in PAGES.items():
                page.goto(f"{app_url}/{path}")
                settle(page)
                assert page.locator('[data-testid="stException"]').count() == 0, f"exception on page {name}"
                assert page.locator("h1").first.inner_text().strip(), f"page {name} has no title"
                if name == "try":  # show the upload path working: a synthetic MR volume
                    page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(volume))
                    page.wait_for_selector('[data-testid="stImage"]', timeout=60_000)
                    settle(page)
                    assert page.locator('[data-testid="stException"]').count() == 0, "exception after upload"
                if SCREENSHOTS:
                    save_screenshot(page, name)
        finally:
            browser.close()

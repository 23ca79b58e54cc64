"""Headless Chromium: start a small race on the Architecture race page, watch the curves grow, stop it.

Set ``MEDLEARN_SCREENSHOTS=1`` to write ``docs/screenshots/race_*.png`` and
``instructor_train.png`` (each kept under 500 KB).
"""

from __future__ import annotations

import time

import pytest

from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, MARKS, SCREENSHOTS, VIEWPORT, save_screenshot, settle

pytestmark = MARKS
POINTS = "() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(d => d.data || [])" \
         ".reduce((n, t) => n + (t.x ? t.x.length : 0), 0)"


def _number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    page.wait_for_timeout(400)


def _choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_timeout(400)


def _points_after(page, previous: int, limit_s: float = 90) -> int:
    deadline = time.time() + limit_s
    while time.time() < deadline:
        points = page.evaluate(POINTS)
        if points > previous:
            return points
        page.wait_for_timeout(500)
    pytest.fail(f"the race chart did not grow past {previous} points in {limit_s} s")


def test_race_curves_grow_and_stop(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport=VIEWPORT)
            page.goto(f"{app_url}/race?case=breast&arch=resnet18,classic")
            settle(page)
            _number(page, "Epochs", 30)
            _number(page, "Training images", 32)
            _choose(page, "Input size (px)", "32")
            page.get_by_text("Advanced: learning rate").click()
            _number(page, "Batch size", 4)
            _number(page, "Validation images", 4)
            page.get_by_role("button", name="Start the race").click()
            page.wait_for_selector(".js-plotly-plot", timeout=120_000)
            first = _points_after(page, 0)
            second = _points_after(page, first)  # the fragment redraws while the job streams batches
            assert second > first
            if SCREENSHOTS:
                save_screenshot(page, "race_running")
            page.get_by_role("button", name="Stop all").click()
            page.get_by_text("stopped", exact=False).first.wait_for(timeout=60_000)
            settle(page, quiet_s=4)
            assert not page.locator('[data-testid="stException"]').count()
            if SCREENSHOTS:
                save_screenshot(page, "race_stopped")
                page.goto(f"{app_url}/breast?section=train&instructor=1")
                settle(page)
                save_screenshot(page, "instructor_train")
        finally:
            chromium.close()

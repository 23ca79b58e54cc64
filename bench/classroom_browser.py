"""The classroom benchmark's browser driver: each session is a headless Chromium tab.

Slower than ``bench_classroom.ProtocolDriver`` on a small machine (the tabs' rendering
competes with the server for the same cores), kept to check that what the protocol
driver measures is what a tab sees: ``python -m bench.bench_classroom --driver browser``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.bench_classroom import Answer, PredictUI, read_answer
from bench.serve import RunWatcher, launch, wait_drawn


class BrowserDriver:
    """Chromium tabs in one browser; a session is ``(page, watcher)``."""

    def __init__(self, url: str, ui: PredictUI, timeout_s: float, title: str):
        self.url, self.ui, self.timeout_s, self.title = url, ui, timeout_s, title
        self._pw = self._browser = None

    async def __aenter__(self) -> "BrowserDriver":
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self._browser = await launch(self._pw)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._browser.close()
        await self._pw.stop()

    async def open(self, n: int) -> list:
        context = await self._browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(120_000)  # 20 pages on two busy cores: clicks can wait long
        pages = [await context.new_page() for _ in range(n)]
        watchers = [RunWatcher(p) for p in pages]
        for start in range(0, n, 4):  # open a few at a time: the machine has two cores
            batch = range(start, min(n, start + 4))
            await asyncio.gather(*(self._prepare(pages[i], watchers[i]) for i in batch))
        return list(zip(pages, watchers))

    async def release(self, sessions: list) -> None:
        if sessions:
            await sessions[0][0].context.close()

    async def _prepare(self, page, watcher: RunWatcher) -> None:
        """Open the case page's Predict section and choose the upload option (one retry)."""
        ui = self.ui
        for attempt in (1, 2):
            try:
                since = watcher.finished
                await page.goto(f"{self.url}/{ui.case}{ui.query}")
                await wait_drawn(page, watcher, self.title, since)
                section = page.locator('[data-testid="stMain"] button', has_text=ui.section).first
                if await section.get_attribute("aria-checked") != "true":  # the link did not open it
                    await self._click(section, watcher)
                await self._click(page.locator('[data-testid="stRadio"] label', has_text=ui.source), watcher)
                await page.locator(ui.uploader).wait_for(state="attached")
                return
            except Exception as exc:  # a slow machine: reload once, then give up saying what the page shows
                if attempt == 2:
                    shown = await page.locator('[data-testid="stMain"]').inner_text(timeout=10_000)
                    raise RuntimeError(f"session not ready ({exc!s:.300}); "
                                       f"the page ends: {shown[-600:]!r}") from exc

    async def _click(self, locator, watcher: RunWatcher) -> None:
        since = watcher.finished
        await locator.first.click()
        await wait_drawn(locator.page, watcher, self.title, since)

    async def ask(self, session, upload: Path, expected) -> Answer:
        """Upload one file and wait for the answer; what it shows, or what went wrong."""
        page, watcher = session
        ui = self.ui
        since, exceptions, t0 = watcher.finished, watcher.exceptions, time.perf_counter()
        try:
            await page.set_input_files(ui.uploader, str(upload))
            drawn = await wait_drawn(page, watcher, ui.answer_text, since, ui.answer, timeout_s=self.timeout_s)
        except Exception as exc:  # a timeout or a broken page is a counted error, not a crash
            return Answer((time.perf_counter() - t0) * 1000, error=f"{type(exc).__name__}: {exc}"[:200],
                          expected=expected)
        ms = (drawn - t0) * 1000
        boxes = await page.locator(ui.errors).count()
        if boxes or watcher.exceptions > exceptions:
            return Answer(ms, error=f"{boxes} error box(es) on the page", expected=expected)
        texts = await page.locator(ui.answer).all_inner_texts()
        main = await page.locator('[data-testid="stMain"]').inner_text()
        shown, model_ms = read_answer(texts + [main], ui)
        return Answer(ms, shown, None if shown else f"no answer in {texts!r}"[:200], expected,
                      {"predictor_ms": model_ms})

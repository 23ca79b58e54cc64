"""The app in headless Chromium: start-up, page switches and server memory.

* Start-up: from spawning ``streamlit run app.py`` to the Home page drawn (title shown,
  the script run over, nothing stale, no spinner, every picture loaded), against a
  hello-world app started and drawn the same way, in alternation (target: <= 6 s).
* Page switch: clicking a case page in the sidebar until it is drawn, against clicking
  Home (a static page); every case has a trained-looking model (a checkpoint with fresh
  weights for its first architecture and a ``done`` run in a temporary data home), and
  opening the case's Predict section is timed too (target: <= 1.5 s).
* Memory: resident set of the server and its children after every page and every
  Predict section was visited, against the hello-world server (target: <= 2.5 GB).

Median and p95 after a warm-up visit of every page.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.common import Row, Timing
from bench.serve import ENTRY, ROOT, RunWatcher, StreamlitServer, launch, wait_drawn

GB = 1024 ** 3
VIEWPORT = {"width": 1400, "height": 900}
TOOLS = {"try": "Try your own image", "race": "Architecture race"}
HELLO = 'import streamlit as st\n\nst.write("hi")\n'
HELLO_SELECTOR = '[data-testid="stMarkdownContainer"]'


def seed_models(home: Path, cases: list | None = None) -> dict[str, Path]:
    """A checkpoint with fresh weights for each case's first architecture, and a ``done``
    run pointing at it in ``home``'s run store (what a trained class would leave behind)."""
    from medlearn.cases import list_cases
    from medlearn.models import get_model
    from medlearn.train.checkpoints import checkpoint_path, save_checkpoint
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import model_meta
    from medlearn.train.store import RunStore

    store, out = RunStore(home / "runs.sqlite"), {}
    for case in cases or list_cases(studies=True):
        plan = make_plan(case, case.recipe.architectures[0], "phantoms")
        torch.manual_seed(0)
        model = get_model(plan.arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                          spatial_dims=plan.model_dims, width=plan.width, input_size=plan.input_size)
        path = checkpoint_path(home / "checkpoints", case.key, plan.arch, "phantoms", plan.to_dict())
        save_checkpoint(model, model_meta(plan, case), path)
        run_id = store.create_run(case.key, plan.arch, "phantoms", plan.to_dict())
        store.finish(run_id, "done", metrics={"epoch": 0}, checkpoint=str(path))
        out[case.key] = path
    return out


async def _start_once(browser, script: Path, text: str, selector: str, env: dict) -> tuple[float, int, float]:
    """Seconds from spawning the server to the page drawn in a fresh browser context, the
    server's RSS, and seconds from spawning to the health endpoint answering."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    watcher = RunWatcher(page)
    server = StreamlitServer(script, env=env, cwd=script.parent).start()
    try:
        healthy = await asyncio.to_thread(server.wait_healthy)
        await page.goto(server.url, wait_until="commit")
        drawn = await wait_drawn(page, watcher, text, 0, selector)
        return drawn - server.started, server.rss(), healthy
    finally:
        server.stop()
        await context.close()


async def _startup(browser, repeat: int, warmup: int, env: dict, tmp: Path) -> dict[str, list]:
    hello = tmp / "hello" / "hello.py"
    hello.parent.mkdir()
    hello.write_text(HELLO)
    app = ROOT / ENTRY
    runs = {"app": [], "hello": []}
    order = (("hello", hello, "hi", HELLO_SELECTOR), ("app", app, "MedLearn", "h1"))
    for i in range(warmup + repeat):
        for name, script, text, css in order:  # alternate, so drift hits both alike
            result = await _start_once(browser, script, text, css, env)
            if i >= warmup:
                runs[name].append(result)
    return runs


async def _switch(page, watcher: RunWatcher, url: str, path: str, text: str) -> float:
    since, t0 = watcher.finished, time.perf_counter()
    await page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{path}"]').click()
    return await wait_drawn(page, watcher, text, since) - t0


async def _open_predict(page, watcher: RunWatcher, text: str) -> float | None:
    button = page.locator('[data-testid="stMain"] button', has_text="Predict")
    if not await button.count():
        return None
    since, t0 = watcher.finished, time.perf_counter()
    await button.first.click()
    return await wait_drawn(page, watcher, text, since) - t0


async def _switches(browser, server: StreamlitServer, cases: list, repeat: int) -> tuple[dict, int, int]:
    page = await (await browser.new_context(viewport=VIEWPORT)).new_page()
    watcher = RunWatcher(page)
    await page.goto(server.url)
    await wait_drawn(page, watcher, "MedLearn", 0)
    for path, title in [*((c.key, c.title) for c in cases), *TOOLS.items()]:  # warm-up: every page once
        await _switch(page, watcher, server.url, path, title)
        if path not in TOOLS:
            await _open_predict(page, watcher, title)
    times: dict[str, list[float]] = {"home": [], "predict": [], **{c.key: [] for c in cases}}
    for _ in range(repeat):
        for case in cases:
            times["home"].append(await _switch(page, watcher, server.url, "", "MedLearn"))
            times[case.key].append(await _switch(page, watcher, server.url, case.key, case.title))
            opened = await _open_predict(page, watcher, case.title)
            if opened is not None:
                times["predict"].append(opened)
    return times, server.rss(), watcher.exceptions


def _rows(startup: dict, switches: dict, rss: int, exceptions: int, cases: list) -> list[Row]:
    app, hello = (Timing([s[0] * 1000 for s in startup[k]]) for k in ("app", "hello"))
    healthy = statistics.median(s[2] * 1000 for s in startup["app"])
    home = Timing([s * 1000 for s in switches["home"]])
    every = Timing([s * 1000 for c in cases for s in switches[c.key]])
    rows = [
        Row("app", "start-up: spawn -> Home drawn", app.median, "ms median", baseline=hello.median,
            ratio=app.median / hello.median, target="<= 6000 ms", ok=app.p95 <= 6000,
            extra={"p95_ms": app.p95, "hello_p95_ms": hello.p95, "server_up_ms": healthy,
                   "samples_ms": app.samples_ms}),
        Row("app", "page switch: case page (all cases)", every.median, "ms median", baseline=home.median,
            ratio=every.median / home.median, target="<= 1500 ms", ok=every.p95 <= 1500,
            extra={"p95_ms": every.p95, "home_p95_ms": home.p95, "page_exceptions": exceptions}),
    ]
    for case in cases:
        t = Timing([s * 1000 for s in switches[case.key]])
        rows.append(Row("app", f"page switch: {case.key}", t.median, "ms median", baseline=home.median,
                        ratio=t.median / home.median, target="<= 1500 ms", ok=t.p95 <= 1500,
                        extra={"p95_ms": t.p95}))
    if switches["predict"]:
        t = Timing([s * 1000 for s in switches["predict"]])
        rows.append(Row("app", "open Predict section (model loaded)", t.median, "ms median",
                        baseline=home.median, ratio=t.median / home.median, target="<= 1500 ms",
                        ok=t.p95 <= 1500, extra={"p95_ms": t.p95}))
    base_rss = statistics.median(s[1] for s in startup["hello"])
    rows.append(Row("app", "server RSS after every page", rss / GB, "GB", baseline=base_rss / GB,
                    ratio=rss / base_rss, target="<= 2.5 GB", ok=rss <= 2.5 * GB))
    return rows


async def _run(repeat: int, warmup: int, switch_repeat: int, case_keys) -> list[Row]:
    from playwright.async_api import async_playwright

    from medlearn.cases import get_case, list_cases

    cases = [get_case(k) for k in case_keys] if case_keys else list_cases(studies=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        seed_models(home, cases)
        env = {"MEDLEARN_HOME": str(home)}
        async with async_playwright() as p:
            browser = await launch(p)
            try:
                startup = await _startup(browser, repeat, warmup, env, Path(tmp))
                with StreamlitServer(ENTRY, env=env) as server:
                    switches, rss, exceptions = await _switches(browser, server, cases, switch_repeat)
            finally:
                await browser.close()
    return _rows(startup, switches, rss, exceptions, cases)


def run(repeat: int = 5, warmup: int = 1, switch_repeat: int = 3, cases: tuple[str, ...] | None = None,
        timeout_s: float = 1200.0) -> list[Row]:
    """Start-up (``repeat`` timed starts of each app after ``warmup``), page switches
    (``switch_repeat`` rounds over ``cases``, default all) and memory; stops after ``timeout_s``."""
    return asyncio.run(asyncio.wait_for(_run(repeat, warmup, switch_repeat, cases), timeout_s))

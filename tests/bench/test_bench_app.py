"""App benchmark pieces, tiny: seeded models are found, a hello app's start-up is timed,
the rows are built. The real benchmark (every page, several starts) never runs here."""

from __future__ import annotations

import asyncio
import math

import pytest

from bench import bench_app
from bench.serve import CHROMIUM, launch


def test_seeded_model_is_the_one_the_predictor_finds(tmp_path):
    from medlearn.cases import get_case
    from medlearn.predict import Predictor
    from medlearn.train.store import RunStore

    case = get_case("breast")
    paths = bench_app.seed_models(tmp_path, [case])
    store = RunStore(tmp_path / "runs.sqlite")
    assert Predictor(device="cpu", store=store).find_checkpoint(case, None) == paths["breast"]
    assert [r.status for r in store.list_runs(case="breast")] == ["done"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium")
def test_hello_start_up_is_timed(tmp_path):
    from playwright.async_api import async_playwright

    script = tmp_path / "hello.py"
    script.write_text(bench_app.HELLO)

    async def once():
        async with async_playwright() as p:
            browser = await launch(p)
            try:
                return await bench_app._start_once(browser, script, "hi", bench_app.HELLO_SELECTOR, {})
            finally:
                await browser.close()

    seconds, rss, healthy = asyncio.run(once())
    assert 0 < healthy < seconds < 120 and rss > 0


def test_rows_have_ratios_and_targets():
    from medlearn.cases import get_case

    cases = [get_case("breast"), get_case("heart")]
    gb = 1024 ** 3
    startup = {"app": [(5.0, 2 * gb, 1.0), (7.0, 2 * gb, 1.0)], "hello": [(2.0, gb, 0.5)] * 2}
    switches = {"home": [0.5, 0.7], "predict": [1.0], "breast": [1.0, 1.2], "heart": [2.0, 0.9]}
    rows = bench_app._rows(startup, switches, 3 * 1024 ** 3, 0, cases)
    names = [r.name for r in rows]
    assert names[0].startswith("start-up") and names[-1].startswith("server RSS") and len(rows) == 6
    assert rows[0].ratio == pytest.approx(3.0) and rows[0].extra["p95_ms"] == 7000
    assert rows[0].ok is False and rows[1].ok is False  # judged on p95: 7 s > 6 s, 2 s > 1.5 s
    assert rows[2].ok is True and rows[4].name.startswith("open Predict")
    assert rows[-1].ok is False and rows[-1].ratio == pytest.approx(3.0)
    assert all(math.isfinite(r.value) for r in rows)

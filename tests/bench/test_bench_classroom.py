"""Classroom benchmark pieces, tiny: distinguishable uploads, the session driver against a
stand-in page (two sessions at once, and a mixed-up answer caught), the rows."""

from __future__ import annotations

import asyncio
import math

import pytest

from bench import bench_classroom as bc
from bench.serve import CHROMIUM, RunWatcher, StreamlitServer, launch

# A stand-in for a case page: section button, image-source radio, uploader, answer heading.
STAND_IN = '''import streamlit as st
st.title("Stand-in case")
if st.segmented_control("Section", ["Explore", "Predict"], default="Explore") == "Predict":
    if st.radio("Image", ["Phantom", "Upload"], horizontal=True) == "Upload":
        files = st.file_uploader("Upload an image", accept_multiple_files=True)
        if files:
            n = int(files[0].name.split("_")[-1].split(".")[0])
            st.markdown(f"### Model: **class {n}** ({50 + n}%)")
            st.caption(f"Answered in {10 * n} ms")
'''


def test_uploads_have_distinct_expected_answers(tmp_path):
    from medlearn.cases import get_case

    from bench.bench_app import seed_models

    checkpoint = seed_models(tmp_path / "home", [get_case("breast")])["breast"]
    bc.spread_checkpoint(checkpoint, "breast", tmp_path, n=16)
    uploads = bc._upload_files(bc.PredictUI(), checkpoint, 3, tmp_path)
    answers = [expected for _, expected in uploads]
    assert len(set(answers)) == 3 and all(path.is_file() for path, _ in uploads)
    assert all(name in ("benign or normal", "malignant") and 50 <= pct <= 100 for name, pct in answers)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium")
def test_sessions_get_their_own_answers_and_a_mix_up_is_caught(tmp_path):
    from playwright.async_api import async_playwright

    (tmp_path / "app.py").write_text(STAND_IN)
    files = []
    for n in (1, 2):
        files.append(tmp_path / f"img_{n}.png")
        files[-1].write_bytes(b"not read by the stand-in")
    ui = bc.PredictUI(case="")

    async def drive(url):
        async with async_playwright() as p:
            browser = await launch(p)
            try:
                sessions = await bc._sessions(browser, url, 2, ui, "Stand-in case")
                expected = [("class 1", 51), ("class 1", 51)]  # the second session should show class 2
                return await asyncio.gather(*(bc._ask(pg, w, ui, f, e, 30.0)
                                              for (pg, w), f, e in zip(sessions, files, expected)))
            finally:
                await browser.close()

    with StreamlitServer(tmp_path / "app.py", cwd=tmp_path) as server:
        first, second = asyncio.run(drive(server.url))
    assert first.own and first.error is None and first.extra["predictor_ms"] == 10 and first.ms > 0
    assert second.shown == ("class 2", 52) and not second.own


def test_rows_count_errors_and_own_answers():
    alone = [bc.Answer(900.0 + i, ("a", 60 + i), None, ("a", 60 + i)) for i in range(4)]
    together = [bc.Answer(1500.0 + i, ("a", 60 + i), None, ("a", 60 + i)) for i in range(3)]
    together.append(bc.Answer(60_000.0, None, "TimeoutError: late", ("a", 63)))
    result = {"warm": alone[0], "alone": alone, "together": together, "rss": 1024 ** 3,
              "training_batches": (5, 7), "training": "running"}
    rows = bc._rows(result, 4)
    assert [r.value for r in rows[2:]] == [1, 3, 7]
    assert [r.ok for r in rows[2:]] == [False, False, True]
    assert rows[0].ok is False and math.isfinite(rows[0].ratio)

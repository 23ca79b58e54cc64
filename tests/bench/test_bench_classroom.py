"""Classroom benchmark pieces, tiny: distinguishable uploads, both session drivers (websocket
protocol and Chromium) against a stand-in page (two sessions at once, a mixed-up answer
caught, an error box counted), the rows."""

from __future__ import annotations

import asyncio
import math

import pytest

from bench import bench_classroom as bc
from bench.serve import CHROMIUM, StreamlitServer

# A stand-in for a case page: section button, image-source radio, uploader, answer heading.
STAND_IN = '''import streamlit as st
st.title("Stand-in case")
opened = "Predict" if st.query_params.get("section") == "predict" else "Explore"
if st.segmented_control("Section", ["Explore", "Predict"], default=opened) == "Predict":
    if st.radio("Image", ["Phantom", "Upload"], horizontal=True) == "Upload":
        files = st.file_uploader("Upload an image", accept_multiple_files=True)
        if files:
            n = int(files[0].name.split("_")[-1].split(".")[0])
            if n == 3:
                st.error("Cannot read this file.")
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


def _stand_in_files(tmp_path):
    (tmp_path / "app.py").write_text(STAND_IN)
    files = []
    for n in (1, 2, 3):
        files.append(tmp_path / f"img_{n}.png")
        files[-1].write_bytes(b"not read by the stand-in")
    return files


async def _drive(driver, files):
    # The second session should show class 2: expecting class 1 there is a mix-up to catch.
    expected = [("class 1", 51), ("class 1", 51), ("class 3", 53)]
    async with driver:
        sessions = await driver.open(3)
        try:
            return await asyncio.gather(*(driver.ask(s, f, e) for s, f, e in zip(sessions, files, expected)))
        finally:
            await driver.release(sessions)


@pytest.mark.parametrize("driver", ["protocol", "browser"])
def test_sessions_get_their_own_answers_and_mix_ups_and_errors_are_caught(tmp_path, driver):
    if driver == "browser" and not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    files = _stand_in_files(tmp_path)
    with StreamlitServer(tmp_path / "app.py", cwd=tmp_path) as server:
        first, second, third = asyncio.run(_drive(bc.make_driver(driver, server.url, bc.PredictUI(case=""), 30.0),
                                                  files))
    assert first.own and first.error is None and first.extra["predictor_ms"] == 10 and first.ms > 0
    assert second.shown == ("class 2", 52) and not second.own
    assert third.error and not third.own  # the error box is counted


def test_unknown_driver_is_refused():
    with pytest.raises(ValueError, match="protocol or browser"):
        bc.make_driver("telepathy", "http://127.0.0.1:1", bc.PredictUI())


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


def test_rows_report_the_servers_share_of_the_burst():
    answer = bc.Answer(100.0, ("a", 60), None, ("a", 60))
    result = {"warm": answer, "alone": [answer], "together": [answer], "rss": 1024 ** 3,
              "training_batches": (1, 1), "training": "running", "burst": {"wall_s": 2.0, "server_cpu_s": 1.5}}
    row = next(r for r in bc._rows(result, 1) if r.unit == "CPU s")
    assert row.value == 1.5 and row.ratio == 0.75


def test_cpu_seconds_of_this_process_grows():
    import os

    from bench.serve import cpu_seconds

    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert cpu_seconds(os.getpid()) > before

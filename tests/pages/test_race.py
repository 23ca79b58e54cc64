"""The Architecture race page: any case from the link, a tiny race, and the layer comparison."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PREFIX = "train.race.lung"


pytestmark = pytest.mark.usefixtures("close_jobs")


def open_race(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update(params)
    at.run()
    at.switch_page("pages/race.py").run()
    return at


def test_link_picks_the_case_and_a_tiny_3d_vs_classic_race_finishes(assert_clean):
    at = open_race(case="lung", arch="resnet3d,classic")
    assert_clean(at)
    assert at.selectbox(key="race.case").value == "lung"
    assert at.multiselect(key=f"{PREFIX}.archs").value == ["resnet3d", "classic"]
    assert any("3D volumes" in o for o in at.multiselect(key=f"{PREFIX}.archs").options)
    at.number_input(key=f"{PREFIX}.epochs").set_value(1)
    at.number_input(key=f"{PREFIX}.n_train").set_value(8)
    at.selectbox(key=f"{PREFIX}.input_size").set_value(16)
    at.number_input(key=f"{PREFIX}.batch").set_value(4)
    at.number_input(key=f"{PREFIX}.n_val").set_value(4)
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    from ui.jobs import manager

    ids = at.session_state[f"{PREFIX}.jobs"]
    deadline = time.monotonic() + 240  # an upper bound on a slow machine, not a timing target
    while any(manager().status(i) not in ("done", "failed", "stopped") for i in ids):
        assert time.monotonic() < deadline, [manager().status(i) for i in ids]
        time.sleep(1.0)
        at.run()
    at.run()
    assert_clean(at)
    assert [manager().status(i) for i in ids] == ["done", "done"], [manager().job(i).error for i in ids]
    table = next(d.value for d in at.dataframe if "architecture" in d.value.columns)
    assert list(table["architecture"]) == ["resnet3d", "classic"]
    assert table["parameters"].iloc[0] > 0 and table["latency (ms/image)"].notna().all()
    assert at.get("plotly_chart")


def test_switching_case_keeps_the_layer_comparison_below_the_race(assert_clean):
    at = open_race(case="heart")
    assert_clean(at)
    assert at.multiselect(key="train.race.heart.archs").value == ["unet", "gnni_unet"]
    assert at.multiselect(key="race.heart.chosen").value and at.metric  # side-by-side layer tables
    at.selectbox(key="race.case").set_value("gastric").run()
    assert_clean(at)
    assert at.query_params["case"] == "gastric"
    assert at.query_params["arch"] == "unet,segnet,pspnet,mifnet"  # the new case's defaults, not heart's

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
    at.selectbox(key=f"{PREFIX}.source").set_value("phantoms").run()  # volumes (the LIDC mirror holds 2D crops)
    at.number_input(key=f"{PREFIX}.epochs").set_value(1)
    at.number_input(key=f"{PREFIX}.n_train").set_value(8)
    at.selectbox(key=f"{PREFIX}.input_size").set_value(16)
    at.number_input(key=f"{PREFIX}.batch").set_value(4)
    at.number_input(key=f"{PREFIX}.n_val").set_value(4)
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    from ui.train.jobs import manager

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


def test_real_data_first_its_recipe_and_sim_to_real_variants(assert_clean, mirror, monkeypatch):
    """With the mirror, the race trains on real data by default, with that data's recipe; a 3D
    network sits out 2D crops with a reason; sim-to-real adds a phantom-pretrained variant."""
    import ui.train.jobs

    queued = []
    monkeypatch.setattr(ui.train.jobs, "start_race", lambda case, archs, source, variants, **choices:
                        queued.append((archs, source, variants, choices)) or [])
    at = open_race(case="lung", arch="resnet18,resnet3d,classic")
    assert_clean(at)
    assert at.selectbox(key=f"{PREFIX}.source").value == "lidc_crops"
    assert any("sits this race out" in w.value for w in at.warning)
    assert at.checkbox(key=f"{PREFIX}.balanced").value is True  # the LIDC recipe balances its classes
    at.checkbox(key=f"{PREFIX}.sim_to_real").check().run()
    at.button(key=f"{PREFIX}.start").click().run()
    archs, source, variants, choices = queued[-1]
    assert archs == ["resnet18", "classic"] and source == "lidc_crops" and choices["balanced"] is True
    assert variants == {"resnet18": [{"init": "phantoms"}]}  # the classic baseline has no weights to pre-train

    at = open_race(case="breast")
    assert at.selectbox(key="train.race.breast.source").value == "busi"
    assert at.selectbox(key="train.race.breast.input_size").value == 128  # BUSI's recipe, not the phantoms'
    at.selectbox(key="train.race.breast.source").set_value("phantoms").run()
    assert at.selectbox(key="train.race.breast.input_size").value == get_case_recipe("breast").input_size
    assert not [c for c in at.checkbox if c.key == "train.race.breast.sim_to_real"]  # needs real data


def get_case_recipe(key):
    from medlearn.cases import get_case

    return get_case(key).recipe

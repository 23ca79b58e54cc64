"""Instructor mode: larger type, advanced controls hidden, stored runs at once, replay, reset, prepare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PREFIX = "train.case.breast"


pytestmark = pytest.mark.usefixtures("close_jobs")


def open_train(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"section": "train", **params})
    at.run()
    at.switch_page("pages/breast.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def css_on(at: AppTest) -> bool:
    return any("medlearn-instructor" in m.value for m in at.markdown)


def stored_run(epochs: int = 4) -> int:
    from medlearn.train.store import RunStore

    store = RunStore()
    run = store.create_run("breast", "alexnet", "phantoms", {"epochs": epochs, "input_size": 32})
    for e in range(1, epochs + 1):
        store.log_epoch(run, {"epoch": e, "train_loss": 1.0 / e, "accuracy": 0.5 + 0.1 * e})
    store.finish(run, "done", metrics={"epoch": epochs, "accuracy": 0.9})
    return run


def chart_points(at: AppTest) -> int:
    charts = at.get("plotly_chart")
    return sum(len(t.get("x", [])) for t in json.loads(charts[0].proto.spec)["data"]) if charts else 0


def test_toggle_scales_type_and_hides_advanced_controls(assert_clean):
    at = open_train()
    assert not css_on(at) and at.number_input(key=f"{PREFIX}.batch")
    at.toggle(key="instructor.on").set_value(True).run()
    assert_clean(at)
    assert css_on(at)
    assert not [n for n in at.number_input if n.key in (f"{PREFIX}.batch", f"{PREFIX}.n_val")]
    assert not [s for s in at.select_slider if s.key == f"{PREFIX}.lr"]
    assert at.query_params["instructor"] == "1"
    at.toggle(key="instructor.on").set_value(False).run()
    assert not css_on(at) and at.number_input(key=f"{PREFIX}.batch")


def test_stored_runs_show_at_once_and_replay(assert_clean):
    run = stored_run()
    at = open_train(instructor="1")
    assert_clean(at)
    assert at.toggle(key="instructor.on").value
    assert at.multiselect(key=f"{PREFIX}.compare").value == [run]
    full = chart_points(at)
    assert full == 8  # 4 epochs of loss + 4 of accuracy, no waiting
    at.button(key=f"{PREFIX}.replay_button").click().run()
    early = chart_points(at)
    time.sleep(1.5)
    at.run()
    assert early < chart_points(at) <= full


def test_reset_clears_this_session_only(assert_clean):
    at = open_train(instructor="1", arch="resnet18")
    at.number_input(key=f"{PREFIX}.epochs").set_value(3).run()
    at.button(key="instructor.reset").click().run()
    assert_clean(at)
    assert at.toggle(key="instructor.on").value  # instructor mode stays on
    assert at.query_params["instructor"] == "1" and "arch" not in at.query_params
    at.switch_page("pages/breast.py").run()
    at.segmented_control(key="breast.section").set_value("🏁 Train").run()
    assert at.number_input(key=f"{PREFIX}.epochs").value == 6
    assert at.multiselect(key=f"{PREFIX}.archs").value == ["alexnet", "resnet18", "classic"]


def test_prepare_all_cases_queues_every_missing_default_recipe(monkeypatch, assert_clean):
    from medlearn.cases import list_cases
    from medlearn.train.jobs import JobManager

    queued = []
    monkeypatch.setattr(JobManager, "submit", lambda self, case, arch, source="phantoms", **kw:
                        queued.append((case, arch, source)) or len(queued))
    at = open_train(instructor="1")
    at.button(key="instructor.prepare").click().run()
    assert_clean(at)
    from medlearn.data.sources.choice import default_source

    expected = [(c.key, a, default_source(c)) for c in list_cases() for a in c.recipe.architectures]
    assert queued == expected
    assert any("Queued" in s.value for s in at.success)

"""Instructor mode: larger type, advanced controls hidden, stored runs at once, replay, reset, prepare."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PREFIX = "train.case.breast"
SETTINGS = PREFIX  # the size and data widgets share the section prefix


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
    assert not css_on(at) and at.number_input(key=f"{SETTINGS}.batch")
    at.toggle(key="instructor.on").set_value(True).run()
    assert_clean(at)
    assert css_on(at)
    assert not [n for n in at.number_input if n.key in (f"{SETTINGS}.batch", f"{SETTINGS}.n_val")]
    assert not [s for s in at.select_slider if s.key == f"{SETTINGS}.lr"]
    assert at.query_params["instructor"] == "1"
    at.toggle(key="instructor.on").set_value(False).run()
    assert not css_on(at) and at.number_input(key=f"{SETTINGS}.batch")


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
    at.number_input(key=f"{SETTINGS}.epochs").set_value(3).run()
    at.button(key="instructor.reset").click().run()
    assert_clean(at)
    assert at.toggle(key="instructor.on").value  # instructor mode stays on
    assert at.query_params["instructor"] == "1" and "arch" not in at.query_params
    at.switch_page("pages/breast.py").run()
    at.segmented_control(key="breast.section").set_value("Train").run()
    from medlearn.cases import get_case

    recipe = get_case("breast").recipe_for(at.selectbox(key=f"{PREFIX}.source").value)  # BUSI's with the mirror
    assert at.number_input(key=f"{SETTINGS}.epochs").value == recipe.epochs
    assert at.multiselect(key=f"{PREFIX}.archs").value == list(recipe.architectures)


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

    expected = [(c.key, a, default_source(c)) for c in list_cases(studies=True)  # further studies too
                for a in c.recipe_for(default_source(c)).architectures]  # a real source's own networks
    assert queued == expected
    assert any("Queued" in s.value for s in at.success)


def test_disk_use_and_clean_up_with_confirmation(assert_clean):
    from medlearn.train import checkpoints as C
    from medlearn.train.store import RunStore

    store = RunStore()
    paths = {}
    for status, epochs, size in (("done", 1, 1), ("failed", 2, 3)):
        config = {"epochs": epochs}
        run = store.create_run("breast", "alexnet", "phantoms", config)
        path = C.checkpoint_path(C.checkpoint_root(), "breast", "alexnet", "phantoms", config)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"w" * size * 2**20)
        C.resume_path(path).write_bytes(b"r" * 2**20)
        store.finish(run, status, checkpoint=str(path) if status == "done" else None)
        paths[status] = path

    at = open_train(instructor="1")
    text = "\n".join(m.value for m in at.sidebar.markdown)
    assert "**Checkpoints:** 4 MiB" in text and "**Resume files:** 2 MiB" in text and "**Runs:**" in text
    listed = "\n".join(c.value for c in at.sidebar.caption)
    assert "2 item(s) can go, 5 MiB" in listed  # the failed model with its resume file, a leftover resume
    at.button(key="instructor.disk.clean").click().run()
    assert any("cannot be undone" in w.value for w in at.sidebar.warning)
    at.button(key="instructor.disk.no").click().run()  # cancel: nothing happens
    assert paths["failed"].exists() and not any("cannot be undone" in w.value for w in at.sidebar.warning)
    at.button(key="instructor.disk.clean").click().run()
    at.button(key="instructor.disk.yes").click().run()
    assert_clean(at)
    assert any("Deleted 2 item(s), 5 MiB freed" in s.value for s in at.sidebar.success)
    assert not paths["failed"].exists() and not C.resume_path(paths["failed"]).exists()
    assert not C.resume_path(paths["done"]).exists()  # the finished run's leftover resume file
    assert paths["done"].exists()  # the finished run's model stays
    assert any("Nothing to clean up" in c.value for c in at.sidebar.caption)

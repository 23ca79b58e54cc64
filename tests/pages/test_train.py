"""The Train section: a tiny live race, its results, Stop, the queue, and earlier runs.

Jobs are real worker processes, kept tiny (1 epoch, a dozen 32-pixel phantoms). AppTest
does not fire ``run_every`` timers, so the tests sleep and run the page again.
"""

from __future__ import annotations

import json
import time

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 240
TRAIN = "Train"
PREFIX = "train.case.breast"


pytestmark = pytest.mark.usefixtures("close_jobs")


def open_case(case: str = "breast", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.run()
    return at.switch_page(f"pages/{case}.py").run()


def open_train(case: str = "breast", **params) -> AppTest:
    at = open_case(case, **params)
    if at.segmented_control(key=f"{case}.section").value != TRAIN:
        at.segmented_control(key=f"{case}.section").set_value(TRAIN).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tiny(at: AppTest, archs: list[str], epochs: int = 1, n_train: int = 8) -> AppTest:
    at.multiselect(key=f"{PREFIX}.archs").set_value(archs)
    at.number_input(key=f"{PREFIX}.epochs").set_value(epochs)
    at.number_input(key=f"{PREFIX}.n_train").set_value(n_train)
    at.selectbox(key=f"{PREFIX}.input_size").set_value(32)
    at.number_input(key=f"{PREFIX}.batch").set_value(4)
    at.number_input(key=f"{PREFIX}.n_val").set_value(4)
    return at.run()


def chart_points(at: AppTest) -> tuple[int, int]:
    """(traces, points) of the race chart."""
    charts = at.get("plotly_chart")
    if not charts:
        return 0, 0
    data = json.loads(charts[0].proto.spec)["data"]
    return len(data), sum(len(t.get("x", [])) for t in data)


def poll(at: AppTest, done, limit_s: float = 240.0) -> AppTest:  # generous: CI machines are slow
    deadline = time.monotonic() + limit_s
    while not done(at):
        assert time.monotonic() < deadline, "the race did not get there in time"
        time.sleep(1.0)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def statuses(at: AppTest) -> list[str]:
    from ui.train.jobs import manager

    return [manager().status(i) for i in at.session_state[f"{PREFIX}.jobs"]]


def results(at: AppTest):
    frames = [d.value for d in at.dataframe if "architecture" in d.value.columns and "status" in d.value.columns]
    return frames[0] if frames else None


def test_tiny_race_streams_curves_and_fills_the_results_table(assert_clean):
    at = tiny(open_train(), ["resnet18", "classic"])
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    assert len(at.session_state[f"{PREFIX}.jobs"]) == 2
    at.switch_page("pages/home.py").run()  # navigate away and back: the race goes on
    at.switch_page("pages/breast.py").run()
    assert at.segmented_control(key="breast.section").value == TRAIN  # restored from the URL
    poll(at, lambda a: all(s == "done" for s in statuses(a)))
    at.run()
    traces, points = chart_points(at)
    assert traces >= 3 and points >= 3, (traces, points)  # resnet loss + metric, classic metric
    table = results(at)
    assert set(table["architecture"]) == {"resnet18", "classic"}
    row = table.set_index("architecture").loc["resnet18"]
    assert row["parameters"] > 100_000 and row["latency (ms/image)"] > 0 and row["training time (s)"] > 0
    assert 0.0 <= row["best accuracy"] <= 1.0
    assert any("Published results" in m.value for m in at.markdown)

    again = open_train()  # a new session on the same data home: the runs are in the store
    labels = again.multiselect(key=f"{PREFIX}.compare").options
    assert len(labels) == 2 and any("resnet18" in o for o in labels), labels
    again.multiselect(key=f"{PREFIX}.compare").set_value([labels[0]]).run()
    assert chart_points(again)[0] >= 1  # the stored run's curves are overlaid


def test_queue_per_job_stop_and_stop_all(assert_clean):
    at = tiny(open_train(), ["resnet18", "alexnet", "vgg11"], epochs=30, n_train=64)
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    first, second, third = at.session_state[f"{PREFIX}.jobs"]
    assert statuses(at)[2] == "queued"  # two cores: the third waits
    assert any("queued" in p.proto.text for p in at.get("progress"))
    at.button(key=f"{PREFIX}.stop.{third}").click().run()  # a queued job is dropped at once
    assert statuses(at)[2] == "stopped"
    poll(at, lambda a: chart_points(a)[1] > 0)  # the first batches have been streamed
    assert statuses(at)[:2] == ["running", "running"]
    other = open_train()  # another student's new session sees the running jobs of the case
    assert sum("running" in p.proto.text or "epoch" in p.proto.text for p in other.get("progress")) == 2
    at.button(key=f"{PREFIX}.stop_all").click().run()
    poll(at, lambda a: all(s in ("stopped", "done") for s in statuses(a)))
    at.run()  # the poll read the jobs after its last run had drawn the table: draw it with the final statuses
    assert_clean(at)
    assert set(results(at)["status"]) <= {"stopped", "done"}


def test_impossible_choice_shows_a_message_not_a_traceback(assert_clean):
    at = tiny(open_train(), ["alexnet"])
    at.selectbox(key=f"{PREFIX}.input_size").set_value(16).run()
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    assert any("at least 32 pixels" in e.value for e in at.error), [e.value for e in at.error]
    assert f"{PREFIX}.jobs" not in at.session_state


def test_first_visit_says_there_is_no_model_and_offers_background_training(assert_clean):
    at = open_train()
    assert any("No trained model" in i.value for i in at.info)
    assert at.button(key=f"{PREFIX}.prepare")
    assert any(c.key == f"{PREFIX}.enhanced" and not c.proto.disabled for c in at.checkbox)  # breast: ACE race


def test_retina_pretrained_options_are_disabled_with_the_reason(assert_clean):
    at = open_train("retina")
    boxes = {c.key: c for c in at.checkbox}
    assert boxes["train.case.retina.imagenet"].proto.disabled
    assert boxes["train.case.retina.medlearn_init"].proto.disabled
    assert any("Unavailable:" in c.value for c in at.caption)


def test_ace_race_trains_each_network_twice_labelled_and_augment_switch(assert_clean):
    from ui.train.jobs import manager

    at = tiny(open_train(), ["classic"])
    at.checkbox(key=f"{PREFIX}.enhanced").check()
    at.selectbox(key=f"{PREFIX}.augment").set_value("none").run()
    at.button(key=f"{PREFIX}.start").click().run()
    assert_clean(at)
    ids = at.session_state[f"{PREFIX}.jobs"]
    kwargs = [manager().job(i).kwargs for i in ids]
    assert [k.get("enhance") for k in kwargs] == [None, "ace"] and all(k["augment"] is False for k in kwargs)
    poll(at, lambda a: all(s == "done" for s in statuses(a)))
    at.run()
    assert set(results(at)["architecture"]) == {"classic · no augmentation", "classic · ACE images · no augmentation"}
    assert set(results(at)["images"]) == {"raw", "ACE-enhanced"}


def test_retina_warm_start_from_another_case_races_twice(tmp_path, assert_clean):
    from ui.train.jobs import manager

    run = trained_breast_model(tmp_path, width=16)
    at = open_train("retina")
    box = at.checkbox(key="train.case.retina.medlearn_init")
    assert not box.proto.disabled
    box.check().run()
    assert at.selectbox(key="train.case.retina.init_case").value == "breast"
    at.multiselect(key="train.case.retina.archs").set_value(["resnet18", "alexnet"]).run()
    at.number_input(key="train.case.retina.epochs").set_value(1).run()
    at.button(key="train.case.retina.start").click().run()
    assert_clean(at)
    kwargs = [manager().job(i).kwargs for i in at.session_state["train.case.retina.jobs"]]
    assert [(k["arch"], k.get("init")) for k in kwargs] == [
        ("resnet18", None), ("alexnet", None), ("resnet18", f"medlearn:{manager().store.get_run(run).checkpoint}")]
    assert all("batch_size" not in k for k in kwargs)  # the recipe's batch size per model, unless changed
    assert any("alexnet: no run on Breast" in c.value for c in at.caption)


def trained_breast_model(tmp_path, width: int = 8) -> int:
    """A checkpoint with fresh weights and a finished run row in the isolated data home."""
    from medlearn.models import get_model
    from medlearn.train.checkpoints import save_checkpoint
    from medlearn.train.store import RunStore

    from medlearn.train.recipes import untrained_meta

    meta = untrained_meta("breast", "resnet18", width=width, input_size=32)
    path = save_checkpoint(get_model("resnet18", **{k: meta[k] for k in list(meta)[1:6]}), meta,
                           tmp_path / "resnet18.safetensors")
    store = RunStore()
    run = store.create_run("breast", "resnet18", "phantoms", {"epochs": 2, "input_size": 32, "width": width})
    for epoch, (loss, acc) in enumerate([(0.7, 0.55), (0.5, 0.8)], 1):
        store.log_epoch(run, {"epoch": epoch, "train_loss": loss, "val_loss": loss, "accuracy": acc})
    store.finish(run, "done", metrics={"epoch": 2, "accuracy": 0.8}, checkpoint=str(path))
    return run


def test_with_a_trained_model_the_first_visit_note_goes(tmp_path, assert_clean):
    run = trained_breast_model(tmp_path)
    at = open_train()
    assert_clean(at)
    assert not any("No trained model" in i.value for i in at.info)
    assert run in at.multiselect(key=f"{PREFIX}.compare").options or any(
        f"run {run}" in o for o in at.multiselect(key=f"{PREFIX}.compare").options)


def test_link_restores_section_architectures_and_phantom_seed(assert_clean):
    at = open_train(section="train", arch="resnet18,classic")
    assert at.segmented_control(key="breast.section").value == TRAIN
    assert at.multiselect(key=f"{PREFIX}.archs").value == ["resnet18", "classic"]
    at.multiselect(key=f"{PREFIX}.archs").set_value(["alexnet"]).run()
    assert at.query_params["arch"] == "alexnet" and at.query_params["section"] == "train"

    explore = open_case(section="explore", seed="7")
    assert explore.number_input(key="lab.breast.seed").value == 7
    assert explore.query_params["seed"] == "7"

    bad = open_train(section="train", arch="not_a_model")
    assert_clean(bad)
    assert any("arch" in w.value for w in bad.warning)
    from medlearn.cases import get_case
    from medlearn.data.sources.choice import default_source

    breast = get_case("breast")  # the defaults of the best data here (BUSI's networks with the mirror)
    assert bad.multiselect(key=f"{PREFIX}.archs").value == list(breast.recipe_for(default_source(breast)).architectures)


def test_a_failed_run_is_listed_with_its_reason(assert_clean):
    """Once seen: a baseline failed inside "Prepare all cases" and nothing on the page said so."""
    from medlearn.train.store import RunStore

    store = RunStore()
    run = store.create_run("breast", "classic", "busi", {})
    store.finish(run, "failed", error="Input X contains infinity or a value too large (`x`.png)")
    at = open_train()
    assert_clean(at)
    assert any("1 run(s) failed" in e.label for e in at.expander)
    assert any(f"run {run} · classic on busi" in t.value and "Input X contains infinity" in t.value
               for t in at.text)


def test_a_run_another_replica_started_shows_its_stored_batch_curve(close_jobs):
    """A live run this server did not start (another replica's, through the shared store):
    its batch losses come from the store, so every replica draws the same live curve."""
    from medlearn.cases import get_case
    from ui.train.jobs import manager, view

    store = manager().store
    run = store.create_run("breast", "resnet18", "phantoms", {"epochs": 4})
    store.log_epoch(run, {"epoch": 1, "train_loss": 0.9, "val_loss": 1.0})
    store.log_progress(run, {"epoch": 2, "epochs": 4, "batches": [[1.5, 0.8], [2.0, 0.7]]})
    seen = view(run, get_case("breast"))
    assert seen.live and seen.batches == [(1.5, 0.8), (2.0, 0.7)]
    assert seen.epochs == 4 and seen.position == 2.0 and [e["epoch"] for e in seen.epoch_rows] == [1]

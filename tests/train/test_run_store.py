"""The run store: lifecycle, reopen, best run, interrupted runs."""

import subprocess
import sys

import pytest

from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.train.store import RunStore


def test_lifecycle_and_reopen(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run("breast", "alexnet", "phantoms", {"epochs": 2})
    store.log_epoch(run, {"epoch": 1, "val_loss": 0.7, "auc": 0.6})
    store.log_epoch(run, {"epoch": 2, "val_loss": 0.5, "auc": 0.8})
    store.finish(run, "done", metrics={"auc": 0.8}, checkpoint="/x.safetensors")
    again = RunStore(tmp_path / "runs.sqlite").get_run(run)
    assert again.status == "done" and again.config == {"epochs": 2} and again.checkpoint == "/x.safetensors"
    assert [e["auc"] for e in again.epochs] == [0.6, 0.8] and again.seconds >= 0


def test_default_path_is_the_data_home(_isolated_home):
    assert RunStore().path == _isolated_home / "runs.sqlite"


def test_list_best_and_delete(tmp_path):
    store = RunStore(tmp_path / "r.sqlite")
    ids = {}
    for arch, auc, hd in (("alexnet", 0.7, 5.0), ("resnet18", 0.9, 9.0), ("alexnet", 0.8, 3.0)):
        ids[(arch, auc)] = store.create_run("breast", arch, "phantoms", {})
        store.finish(ids[(arch, auc)], "done", metrics={"auc": auc, "hd95": hd})
    failed = store.create_run("breast", "alexnet", "phantoms", {})
    store.finish(failed, "failed", error="boom")
    assert len(store.list_runs(case="breast")) == 4 and len(store.list_runs(arch="alexnet")) == 3
    assert store.best_run("breast", "alexnet", "auc").id == ids[("alexnet", 0.8)]
    assert store.best_run("breast", None, "auc").id == ids[("resnet18", 0.9)]
    assert store.best_run("breast", None, "hd95").id == ids[("alexnet", 0.8)]   # lower is better
    assert store.best_run("lung", None, "auc") is None
    store.delete_run(failed)
    with pytest.raises(UnknownNameError):
        store.get_run(failed)
    with pytest.raises(MedlearnInputError):
        store.finish(ids[("alexnet", 0.7)], "finished")


def test_run_of_a_dead_process_becomes_interrupted(tmp_path):
    store = RunStore(tmp_path / "r.sqlite")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = store.create_run("lung", "resnet18", "phantoms", {}, pid=child.pid)
    alive = store.create_run("lung", "resnet3d", "phantoms", {})  # this process
    store.finish(store.create_run("lung", "classic", "phantoms", {}, pid=child.pid), "done")
    reopened = RunStore(tmp_path / "r.sqlite")
    assert reopened.get_run(dead).status == "interrupted"
    assert reopened.get_run(alive).status == "running"
    assert [r.status for r in reopened.list_runs(arch="classic")] == ["done"]

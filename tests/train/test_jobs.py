"""The job manager: queueing, streaming, a killed worker, stop, failure (real processes)."""

import os
import signal
import time

import pytest

from medlearn.train.checkpoints import load_checkpoint
from medlearn.train.jobs import JobManager
from medlearn.train.store import RunStore
from job_helpers import report_modules
from train_helpers import build, fit_tiny

TARGET = fit_tiny


def _until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the job")
        time.sleep(0.05)


@pytest.fixture
def manager(tmp_path):
    m = JobManager(RunStore(tmp_path / "runs.sqlite"), max_workers=1)
    yield m
    m.close()


def test_kill_queue_stream_and_stop(manager, tmp_path):
    ckpt = tmp_path / "a.safetensors"
    a = manager.submit("breast", "tiny", target=TARGET, epochs=100, delay=0.05, checkpoint=str(ckpt))
    b = manager.submit("breast", "tiny", target=TARGET, epochs=100, delay=0.05)
    assert manager.status(a) == "running" and manager.status(b) == "queued"  # capped at one worker

    # kill A mid-epoch, after it has saved one checkpoint
    _until(lambda: manager.metrics(a, "epoch"))
    seen = len(manager.metrics(a))
    _until(lambda: any(m.kind == "batch" for m in manager.metrics(a, since=seen)))
    os.kill(manager.job(a).pid, signal.SIGKILL)
    assert manager.wait(a, 30) == "failed"
    record = manager.store.get_run(a)
    assert record.status == "failed" and "unexpectedly" in record.error and len(record.epochs) >= 1
    model, meta = load_checkpoint(ckpt, builder=build)  # the last complete checkpoint still loads
    assert meta["metrics"]["epoch"] >= 1

    # B starts once A's slot frees; stop it cooperatively
    _until(lambda: manager.metrics(b, "batch"))
    assert manager.stop(b)
    assert manager.wait(b, 30) == "stopped"
    assert manager.store.get_run(b).status == "stopped"
    assert manager.metrics(b)[-1].kind == "result"

    # a later server (a restart) still answers from the run store
    later = JobManager(manager.store, max_workers=1)
    try:
        assert later.status(a) == "failed" and later.status(b) == "stopped"
        assert [m.epoch for m in later.metrics(a, "epoch")] == [e["epoch"] for e in record.epochs]
    finally:
        later.close()


def test_failure_is_reported_and_queued_job_can_be_dropped(manager):
    bad = manager.submit("breast", "tiny", target=TARGET, fail=True)
    waiting = manager.submit("breast", "tiny", target=TARGET)
    assert manager.stop(waiting) and manager.status(waiting) == "stopped"
    assert manager.wait(bad, 60) == "failed"
    assert manager.store.get_run(bad).error == "deliberate failure"
    assert manager.job(bad).error == "deliberate failure"


def test_find_live_names_the_oldest_live_job_of_a_case_and_architecture(manager):
    assert manager.find_live("breast", "alexnet") is None
    job = manager.submit("breast", "tiny", target=TARGET, epochs=100, delay=0.05)
    later = manager.submit("breast", "tiny", target=TARGET, epochs=100, delay=0.05)  # queued behind it
    assert manager.find_live("breast", "tiny") == job
    manager.stop(later)
    assert manager.find_live("breast", "tiny", "busi") is None and manager.find_live("lung", "tiny") is None
    manager.stop(job)
    manager.wait(job, 30)
    assert manager.find_live("breast", "tiny") is None


PAGE = """
from pathlib import Path
import streamlit as st
Path(__file__).with_suffix(".ran").touch()
st.title("a page")
"""


def test_workers_never_run_the_page_and_are_reaped(manager, tmp_path, monkeypatch, capfd):
    """Inside a Streamlit script run ``__main__`` is the page; ``spawn`` used to re-run it in
    every worker (about 30 "bare mode" warnings per job), and a finished worker stayed a zombie."""
    import sys
    import types
    from pathlib import Path

    page = tmp_path / "page.py"
    page.write_text(PAGE)
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)  # what Streamlit's script runner installs
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    job = manager.submit("breast", "tiny", target=report_modules)
    assert sys.modules["__main__"] is fake_main  # put back after the start
    assert manager.wait(job, 60) == "done"
    pid = manager.job(job).pid
    _until(lambda: not Path(f"/proc/{pid}").exists(), 15)  # reaped, not a zombie
    run = manager.store.get_run(job)
    assert run.metrics == {"imported": [], "main_file": None}
    assert not page.with_suffix(".ran").exists()
    err = capfd.readouterr().err
    assert "bare mode" not in err and "ScriptRunContext" not in err

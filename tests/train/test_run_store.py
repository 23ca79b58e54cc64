"""The run store on both backends (SQLite, PostgreSQL): lifecycle, reopen, best run,
interrupted runs, replicas, migrations, bad URLs and unreachable servers."""

import json
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, update

from medlearn.data import database
from medlearn.errors import DatabaseUnavailableError, MedlearnInputError, UnknownNameError
from medlearn.train.store import RUNS, RunStore
from medlearn.trust.reader_study import Answer, ReaderStudy


def _versions(store):
    with store.db.begin() as con:
        return [tuple(r) for r in con.execute(select(database._VERSIONS)).all()]


def test_lifecycle_and_reopen(store_location):
    store = RunStore(store_location)
    run = store.create_run("breast", "alexnet", "phantoms", {"epochs": 2})
    store.log_epoch(run, {"epoch": 1, "val_loss": 0.9, "auc": 0.5})
    store.log_epoch(run, {"epoch": 1, "val_loss": 0.7, "auc": 0.6})  # logged again on resume: replaced
    store.log_epoch(run, {"epoch": 2, "val_loss": 0.5, "auc": 0.8})
    store.finish(run, "done", metrics={"auc": 0.8}, checkpoint="/x.safetensors")
    again = RunStore(store_location).get_run(run)
    assert again.status == "done" and again.config == {"epochs": 2} and again.checkpoint == "/x.safetensors"
    assert [e["auc"] for e in again.epochs] == [0.6, 0.8] and again.seconds >= 0
    assert _versions(store) == [("runs", 2)]


def test_default_path_is_the_data_home(_isolated_home):
    store = RunStore()
    assert store.path == _isolated_home / "runs.sqlite" and store.backend == "sqlite"
    with sqlite3.connect(store.path) as con:  # the file keeps WAL mode
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_database_url_selects_the_server_and_hides_its_password(postgres_url, monkeypatch):
    monkeypatch.setenv("MEDLEARN_DATABASE_URL", postgres_url.replace("medlearn@", "medlearn:s3cret@"))
    store = RunStore()  # what the app, the workers and the command line open
    assert store.backend == "postgresql" and store.path is None
    assert "s3cret" not in store.url + repr(store) and "***" in store.url
    run = store.create_run("lung", "resnet18", "phantoms", {})
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # psycopg 3 is the driver by default
    assert [r.id for r in RunStore(plain).list_runs()] == [run]
    assert ReaderStudy().db.backend == "postgresql"  # the reader study shares the database


def test_list_best_and_delete(store_location):
    store = RunStore(store_location)
    ids = {}
    for arch, auc, hd in (("alexnet", 0.7, 5.0), ("resnet18", 0.9, 9.0), ("alexnet", 0.8, 3.0)):
        ids[(arch, auc)] = store.create_run("breast", arch, "phantoms", {})
        store.finish(ids[(arch, auc)], "done", metrics={"auc": auc, "hd95": hd})
    failed = store.create_run("breast", "alexnet", "phantoms", {})
    store.log_epoch(failed, {"epoch": 1, "auc": 0.1})
    store.finish(failed, "failed", error="boom", checkpoint="/f.safetensors")
    assert len(store.list_runs(case="breast")) == 4 and len(store.list_runs(arch="alexnet")) == 3
    assert [r.id for r in store.list_runs()] == sorted([*ids.values(), failed], reverse=True)  # newest first
    assert store.best_run("breast", "alexnet", "auc").id == ids[("alexnet", 0.8)]
    assert store.best_run("breast", None, "auc").id == ids[("resnet18", 0.9)]
    assert store.best_run("breast", None, "hd95").id == ids[("alexnet", 0.8)]   # lower is better
    assert store.best_run("lung", None, "auc") is None
    assert store.forget_checkpoint("/f.safetensors") == 1 and store.get_run(failed).checkpoint is None
    store.delete_run(failed)
    with pytest.raises(UnknownNameError):
        store.get_run(failed)
    with pytest.raises(UnknownNameError):
        store.delete_run(failed)
    with pytest.raises(MedlearnInputError):
        store.finish(ids[("alexnet", 0.7)], "finished")


def test_run_of_a_dead_process_becomes_interrupted_on_this_host_only(store_location):
    store = RunStore(store_location)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = store.create_run("lung", "resnet18", "phantoms", {}, pid=child.pid)
    alive = store.create_run("lung", "resnet3d", "phantoms", {})  # this process
    store.finish(store.create_run("lung", "classic", "phantoms", {}, pid=child.pid), "done")
    elsewhere = store.create_run("lung", "unet", "phantoms", {}, pid=child.pid)
    with store.db.begin() as con:  # another replica's run: its process id means nothing here
        con.execute(update(RUNS).where(RUNS.c.id == elsewhere).values(host=socket.gethostname() + "-other"))
    reopened = RunStore(store_location)
    assert reopened.get_run(dead).status == "interrupted"
    assert reopened.get_run(alive).status == "running"
    assert reopened.get_run(elsewhere).status == "running"
    assert [r.status for r in reopened.list_runs(arch="classic")] == ["done"]


def test_live_progress_is_stored_and_a_silent_run_of_a_gone_host_is_interrupted(store_location):
    """Every replica reads a run's batch curve from the store; a running run whose worker on
    another host has not written for STALE_S seconds is interrupted (its machine is gone)."""
    from medlearn.train.store import STALE_S

    store = RunStore(store_location)
    talking, silent = (store.create_run("lung", arch, "phantoms", {}) for arch in ("resnet18", "unet"))
    with store.db.begin() as con:  # both trained by a worker on another machine
        con.execute(update(RUNS).where(RUNS.c.id.in_([talking, silent])).values(host="gone-host"))
        con.execute(update(RUNS).where(RUNS.c.id == silent).values(started=time.time() - STALE_S - 60,
                                                                    beat=time.time() - STALE_S - 5))
    store.log_progress(talking, {"epoch": 2, "epochs": 5, "batches": [[1.5, 0.7], [2.0, 0.6]]})
    store.log_epoch(talking, {"epoch": 1, "auc": 0.6})
    reopened = RunStore(store_location)  # a replica starting up looks for silent runs
    assert reopened.get_run(talking).status == "running"
    assert reopened.get_run(talking).progress["batches"][-1] == [2.0, 0.6]
    gone = reopened.get_run(silent)
    assert gone.status == "interrupted" and "No word from its worker" in gone.error
    assert reopened.mark_silent() == 0


REPLICA = r"""
import json, sys, time
from pathlib import Path
location, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
from medlearn.train.store import RunStore
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
store = RunStore(location)  # both replicas open (and migrate) a new database at once
run = store.create_run("breast", name, "phantoms", {"replica": name})
store.log_epoch(run, {"epoch": 1, "auc": 0.5})
deadline, others = time.time() + 30, []
while time.time() < deadline and not others:
    others = [r for r in store.list_runs(case="breast") if r.arch != name]
    time.sleep(0.02)
print(json.dumps({"mine": run, "seen": [[r.arch, store.get_run(r.id).epochs] for r in others]}), flush=True)
"""


def test_two_replicas_open_a_new_database_at_once_and_see_each_others_runs(store_location, tmp_path):
    go = tmp_path / "go"
    replicas = [subprocess.Popen([sys.executable, "-c", REPLICA, str(store_location), name, str(go)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    try:
        assert [p.stdout.readline().strip() for p in replicas] == ["ready", "ready"]
        go.touch()
        results = [p.communicate(timeout=60) for p in replicas]
    finally:
        for p in replicas:
            p.kill() if p.poll() is None else None
    assert [p.returncode for p in replicas] == [0, 0], [err[-800:] for _, err in results]
    (a, _), (b, _) = results
    a, b = json.loads(a), json.loads(b)
    assert a["seen"] == [["b", [{"epoch": 1, "auc": 0.5}]]] and b["seen"] == [["a", [{"epoch": 1, "auc": 0.5}]]]
    store = RunStore(store_location)
    assert sorted(r.id for r in store.list_runs()) == sorted([a["mine"], b["mine"]])
    assert _versions(store) == [("runs", 2)]  # migrated once


OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_key TEXT NOT NULL, arch TEXT NOT NULL,
    source TEXT NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL, metrics TEXT,
    checkpoint TEXT, error TEXT, pid INTEGER, host TEXT, created REAL NOT NULL,
    started REAL, finished REAL, seconds REAL);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL, logged REAL NOT NULL, PRIMARY KEY (run_id, epoch));
CREATE INDEX IF NOT EXISTS runs_case_arch ON runs (case_key, arch);
INSERT INTO runs VALUES (7, 'heart', 'unet', 'phantoms', 'done', '{"epochs": 3}', '{"dice": 0.9}',
    '/old.safetensors', NULL, 1, 'h', 100.0, 101.0, 150.0, 49.0);
INSERT INTO epochs VALUES (7, 1, '{"epoch": 1, "dice": 0.9}', 120.0);
"""


def test_a_file_from_before_versions_opens_and_is_migrated(tmp_path):
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as con:  # the run store as every earlier MedLearn wrote it
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(OLD_SCHEMA)
    store = RunStore(path)
    old = store.get_run(7)
    assert (old.case, old.status, old.config, old.metrics, old.seconds) == ("heart", "done", {"epochs": 3},
                                                                           {"dice": 0.9}, 49.0)
    assert old.epochs == [{"epoch": 1, "dice": 0.9}] and _versions(store) == [("runs", 2)]
    assert old.progress is None  # version 2's columns were added to the old table
    assert store.create_run("heart", "unet", "phantoms", {}) == 8  # AUTOINCREMENT goes on
    store.log_progress(8, {"epoch": 1, "epochs": 3, "batches": [[0.5, 1.2]]})
    assert store.get_run(8).progress == {"epoch": 1, "epochs": 3, "batches": [[0.5, 1.2]]}
    with sqlite3.connect(path) as con:
        con.execute("UPDATE schema_version SET version = 3 WHERE component = 'runs'")
    with pytest.raises(DatabaseUnavailableError, match="newer than this MedLearn"):
        RunStore(path)


@pytest.mark.parametrize("url, words", [
    ("mysql://u@127.0.0.1/medlearn", "SQLite or PostgreSQL"),
    ("postgresql+psycopg2://u@127.0.0.1/medlearn", "psycopg 3"),
    ("postgresql+psycopg://u:s3cret@127.0.0.1", "names no database"),
    ("postgresql+psycopg:///medlearn", "names no server"),
    ("sqlite://", "needs a file"),
    ("://nothing", "is not a database URL"),
])
def test_bad_urls_are_typed_errors(monkeypatch, url, words):
    monkeypatch.setenv("MEDLEARN_DATABASE_URL", url)
    with pytest.raises(MedlearnInputError, match=words) as info:
        RunStore()
    assert "s3cret" not in str(info.value)


def test_an_unreachable_server_is_a_typed_error_never_a_hang(monkeypatch):
    monkeypatch.setattr(database, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    t0 = time.perf_counter()
    with pytest.raises(DatabaseUnavailableError, match="Cannot use the database") as info:
        RunStore(f"postgresql+psycopg://medlearn:s3cret@127.0.0.1:{port}/medlearn")
    assert time.perf_counter() - t0 < 5 and "s3cret" not in str(info.value)
    with socket.socket() as silent:  # a server that accepts the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        t0 = time.perf_counter()
        with pytest.raises(DatabaseUnavailableError):
            RunStore(f"postgresql+psycopg://medlearn@127.0.0.1:{silent.getsockname()[1]}/medlearn")
        assert time.perf_counter() - t0 < 8  # the connect timeout (2 s), never a hang


def test_the_reader_study_shares_the_server(postgres_url):
    first, second = ReaderStudy(postgres_url), ReaderStudy(postgres_url)  # two replicas
    answer = Answer("s1", "breast", "img1", 1, 1, 0.8, (0.1, 0.9), "a.safetensors")
    assert first.record(answer) and not second.record(Answer("s1", "breast", "img1", 0, 1))  # first call counts
    assert second.record(Answer("s2", "breast", "img1", 0, 1))
    assert [(a.session, a.call, a.confidence, a.probabilities) for a in second.answers("breast")] == [
        ("s1", 1, 0.8, (0.1, 0.9)), ("s2", 0, None, None)]
    assert _versions(first) == [("reader_study", 1)]
    assert first.reset("breast") == 2 and second.answers("breast") == []


def test_a_new_file_held_by_another_opener_is_waited_for_not_refused(tmp_path):
    """Once seen in CI: two replicas opening a new SQLite file at once; switching it to WAL
    needs the file to itself, and the second got 'database is locked' instead of waiting."""
    import threading

    path = tmp_path / "runs.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # the other replica, in the middle of creating it
    holder.execute("CREATE TABLE t (x)")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        database._prepare_file(path, wait_s=20)
    finally:
        release.join()
        holder.close()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DatabaseUnavailableError, match="Cannot open the database file"):  # other errors: at once
        database._prepare_file(tmp_path / "a-file" / "runs.sqlite")

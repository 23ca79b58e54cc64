"""The local cluster of scripts/cluster.sh: PostgreSQL, a Ray head and worker, two
Streamlit replicas behind nginx, all on 127.0.0.1.

Proves: both replicas answer through the proxy, which pins a browser to one of them; a run
started on replica A is seen live (epoch by epoch) on replica B; a Ray worker killed
mid-run leaves a failed run and no half-written checkpoint; the store survives a replica
restart. Skips with the reason when a piece (Ray, PostgreSQL, nginx) is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
PORTS = {"MEDLEARN_CLUSTER_PORT": "28500", "MEDLEARN_CLUSTER_PG_PORT": "25432",  # outside Ray's worker ports
         "MEDLEARN_CLUSTER_RAY_PORT": "26380", "MEDLEARN_CLUSTER_APP_PORTS": "28601 28602"}


def _missing() -> str | None:
    try:
        import ray  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (.ci/run installs deploy/requirements-cluster.txt)"
    if not shutil.which("nginx"):
        return "nginx is not installed (apt-get install nginx-light; .ci/run does)"
    if not (shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        return "PostgreSQL is not installed (apt-get install postgresql)"
    return None


@pytest.fixture(scope="module")
def cluster():
    if (why := _missing()) is not None:
        pytest.skip(why)
    folder = Path(tempfile.mkdtemp(prefix="medlearn-cluster-"))  # PostgreSQL's own account must reach it
    os.chmod(folder, 0o755)
    env = {**os.environ, **PORTS, "MEDLEARN_CLUSTER_DIR": str(folder)}
    start = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=300)
    try:
        if start.returncode != 0:
            pytest.skip(f"the local cluster did not start: {(start.stdout + start.stderr)[-800:]}")
        cluster_env = dict(env)
        for line in (folder / "env").read_text().splitlines():
            for pair in line.removeprefix("export ").split():
                key, _, value = pair.partition("=")
                cluster_env[key] = value.strip('"')
        cluster_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "train"), str(ROOT)])
        yield cluster_env
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


class Replica:
    def __init__(self, env):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("replica.py"))], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._answer()["ready"]

    def ask(self, **command):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def _answer(self):
        while True:  # Ray's raylet may print lines of its own on the driver's output
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the replica ended")
            if line.startswith("@@"):
                return json.loads(line[2:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _until(predicate, timeout=120.0, what="the run"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
    return value


def test_the_proxy_serves_both_replicas_and_pins_a_browser(cluster):
    url = f"http://127.0.0.1:{PORTS['MEDLEARN_CLUSTER_PORT']}/_stcore/health"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"ok"
        cookie = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("medlearn_replica="))
    assert cookie.startswith("medlearn_replica=") and "HttpOnly" in cookie
    key = cookie.split(";")[0]
    for _ in range(3):  # the same cookie keeps the same key (so the same replica)
        request = urllib.request.Request(url, headers={"Cookie": key})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert key in [c.split(";")[0] for c in answer.headers.get_all("Set-Cookie")]
    for port in PORTS["MEDLEARN_CLUSTER_APP_PORTS"].split():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as answer:
            assert answer.read() == b"ok"


def test_a_run_started_on_one_replica_is_seen_live_on_the_other_and_survives_a_restart(cluster):
    a, b = Replica(cluster), Replica(cluster)
    try:
        job = a.ask(submit={"case": "breast", "arch": "tiny", "epochs": 40, "delay": 0.05})["job"]
        assert b.ask(live=["breast", "tiny", "phantoms"])["job"] == job  # one run for the deployment
        first = _until(lambda: b.ask(view=job)["epochs"], what="B to see an epoch")
        later = _until(lambda: len(b.ask(view=job)["epochs"]) > len(first) and b.ask(view=job)["epochs"],
                       what="B to see the next epoch")
        assert later[:len(first)] == first and b.ask(view=job)["status"] in ("running", "done")
        b.close()
        b = Replica(cluster)  # a replica restarts: the store still has the run and its epochs
        assert b.ask(view=job)["epochs"][:len(later)] == later
        _until(lambda: a.ask(view=job)["status"] == "done", timeout=240, what="the run to finish")
        assert len(b.ask(view=job)["epochs"]) == 40
    finally:
        a.close()
        b.close()


def test_a_ray_worker_killed_mid_run_leaves_a_failed_run_and_no_half_written_checkpoint(cluster, tmp_path):
    from medlearn.train.store import RunStore

    home = Path(cluster["MEDLEARN_HOME"])
    checkpoint = home / "checkpoints" / "breast" / "tiny" / "killed.safetensors"
    a = Replica(cluster)
    try:
        job = a.ask(submit={"case": "breast", "arch": "tiny", "epochs": 400, "delay": 0.05,
                            "checkpoint": str(checkpoint)})["job"]
        _until(lambda: a.ask(view=job)["epochs"], what="the first epoch")
        old = {k: os.environ.get(k) for k in ("MEDLEARN_DATABASE_URL",)}
        os.environ["MEDLEARN_DATABASE_URL"] = cluster["MEDLEARN_DATABASE_URL"]
        try:
            store = RunStore()
            pid = store.get_run(job).pid
            os.kill(pid, signal.SIGKILL)  # the Ray worker process training the run
            _until(lambda: a.ask(view=job)["status"] == "failed", timeout=60, what="the run to fail")
            record = store.get_run(job)
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        assert record.status == "failed" and "Ray worker" in record.error
        leftovers = [p.name for p in checkpoint.parent.glob("*") if ".tmp" in p.name or p.name.startswith(".")]
        assert not leftovers
        if checkpoint.exists():  # the last complete checkpoint still reads whole
            from safetensors.torch import load_file

            assert load_file(checkpoint)
    finally:
        a.close()

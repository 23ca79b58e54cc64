"""The classroom across the local cluster (issue 15): 60 sessions over two replicas behind
nginx, a third of the class racing, beside one plain server with the same load, in one run.

Cluster: ``scripts/cluster.sh`` on 127.0.0.1 (PostgreSQL run store, a Ray head and one
Ray worker with one CPU, two Streamlit replicas, nginx pinning each session by cookie).
Single server: ``serve.py`` with SQLite and one local worker process, as a laptop runs it.
In both, ``races`` students start a three-network race (the breast case's AlexNet,
ResNet-18 and VGG-11 on phantoms, a few epochs each), submitted through the same job
manager code a replica runs when the Race button is pressed; then all sessions upload an
image and wait for the answer with Grad-CAM at once (``bench.bench_classroom``'s protocol
sessions: the upload through the proxy, the pictures fetched, each session's own answer
checked). Reported per set-up: p95 and median answer time, errors, own answers, the
replicas' CPU seconds per answer, and how far the races got meanwhile.

Both set-ups share this machine's two cores, so the cluster cannot be faster here; what
the run shows is that the pieces work together under a class's load and what an answer
costs, which the capacity table of deploy/GUIDE.md scales to more machines.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from bench.bench_classroom import PredictUI, ProtocolDriver, _upload_files, spread_checkpoint
from bench.common import Row, Timing
from bench.serve import ENTRY, StreamlitServer, cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
RACE = ("alexnet", "resnet18", "vgg11")
RACE_CHOICES = {"epochs": 3, "n_train": 64, "n_val": 16}
CLUSTER_PORTS = {"MEDLEARN_CLUSTER_PORT": "38500", "MEDLEARN_CLUSTER_PG_PORT": "35432",
                 "MEDLEARN_CLUSTER_RAY_PORT": "36380", "MEDLEARN_CLUSTER_APP_PORTS": "38601 38602"}


async def _class(url: str, uploads, cpu, races: int, manager) -> dict:
    """Open every session, start ``races`` races, then every session asks at once."""
    driver = ProtocolDriver(url, PredictUI(), timeout_s=120.0)
    warm_session = (await driver.open(1))[0]
    warm = await driver.ask(warm_session, *uploads[0])
    await driver.release([warm_session])
    sessions = []
    for start in range(0, len(uploads), 10):
        sessions += await driver.open(min(10, len(uploads) - start))
    jobs = [j for _ in range(races) for j in manager.submit_race("breast", list(RACE), "phantoms", **RACE_CHOICES)]
    cpu0, t0 = cpu(), time.perf_counter()
    answers = await asyncio.gather(*(driver.ask(s, path, exp) for s, (path, exp) in zip(sessions, uploads)))
    cpu1, t1 = cpu(), time.perf_counter()
    await driver.release(sessions)
    epochs = sum(len(manager.metrics(j, "epoch")) for j in jobs)
    return {"warm": warm, "answers": list(answers), "cpu_s": cpu1 - cpu0, "wall_s": t1 - t0,
            "race_runs": len(jobs), "race_epochs_during": epochs, "jobs": jobs}


def _rows(label: str, result: dict, n: int, baseline: dict | None = None) -> list[Row]:
    answers = result["answers"]
    t = Timing([a.ms for a in answers])
    errors = [a.error for a in answers if a.error]
    own = sum(a.own for a in answers)
    base = Timing([a.ms for a in baseline["answers"]]) if baseline else None
    return [
        Row("cluster", f"{label}: {n} sessions upload->answer+CAM, {result['race_runs']} race runs queued: p95",
            t.p95, "ms p95", baseline=base.p95 if base else None, ratio=t.p95 / base.p95 if base else None,
            target="<= 2000 ms", ok=t.p95 <= 2000,
            extra={"median_ms": t.median, "samples_ms": t.samples_ms, "warm_up_ms": result["warm"].ms}),
        Row("cluster", f"{label}: errors", len(errors), "count", target="== 0", ok=not errors,
            extra={"errors": errors[:10]}),
        Row("cluster", f"{label}: sessions showing their own answer", own, f"of {n}", target=f"== {n}",
            ok=own == n),
        Row("cluster", f"{label}: app CPU per answer", result["cpu_s"] / n * 1000, "ms CPU",
            baseline=result["wall_s"], target="report (capacity table)",
            extra={"cpu_s": result["cpu_s"], "burst_wall_s": result["wall_s"]}),
        Row("cluster", f"{label}: race epochs finished while the class asked", result["race_epochs_during"],
            "epochs", target="report", extra={"race_runs": result["race_runs"]}),
    ]


def _single(home: Path, uploads, races: int) -> dict:
    from medlearn.train.jobs import JobManager
    from medlearn.train.store import RunStore

    manager = JobManager(RunStore(home / "runs.sqlite"), max_workers=1)
    try:
        with StreamlitServer(ENTRY, env={"MEDLEARN_HOME": str(home)}) as server:
            return asyncio.run(_class(server.url, uploads, server.cpu, races, manager))
    finally:
        manager.close(timeout=10)


def _cluster(folder: Path, seeded_home: Path, uploads, races: int) -> dict:
    env = {**os.environ, **CLUSTER_PORTS, "MEDLEARN_CLUSTER_DIR": str(folder)}
    shutil.copytree(seeded_home, folder / "home", dirs_exist_ok=True)
    started = subprocess.run(["bash", str(ROOT / "scripts" / "cluster.sh"), "start"], env=env,
                             capture_output=True, text=True, timeout=600)
    try:
        if started.returncode != 0:
            raise RuntimeError(f"the local cluster did not start: {(started.stdout + started.stderr)[-600:]}")
        for line in (folder / "env").read_text().splitlines():
            for pair in line.removeprefix("export ").split():
                key, _, value = pair.partition("=")
                os.environ[key] = value.strip('"')
        from medlearn.train.jobs import JobManager
        from medlearn.train.store import RunStore

        seeded, shared = RunStore(seeded_home / "runs.sqlite"), RunStore()  # the model the class asks
        for run in seeded.list_runs(status="done"):
            run_id = shared.create_run(run.case, run.arch, run.source, run.config)
            moved = folder / "home" / Path(run.checkpoint).relative_to(seeded_home)
            shared.finish(run_id, "done", metrics=run.metrics, checkpoint=str(moved))
        pids = [int(p.read_text()) for p in sorted((folder / "run").glob("app-*.pid"))]
        manager = JobManager()  # the shared PostgreSQL store, the Ray backend: as a replica holds it
        try:
            url = f"http://127.0.0.1:{CLUSTER_PORTS['MEDLEARN_CLUSTER_PORT']}"
            return asyncio.run(_class(url, uploads, lambda: sum(cpu_seconds(p) for p in pids), races, manager))
        finally:
            manager.close(timeout=10)
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "cluster.sh"), "stop"], env=env, capture_output=True,
                       timeout=120)
        for key in ("MEDLEARN_HOME", "MEDLEARN_DATABASE_URL", "MEDLEARN_RAY_ADDRESS", "RAY_AUTH_MODE",
                    "RAY_AUTH_TOKEN_PATH"):
            os.environ.pop(key, None)


def run(sessions: int = 60, races: int | None = None) -> list[Row]:
    """The single server, then the cluster, with the same uploads and the same races."""
    import importlib.util

    from medlearn.cases import get_case

    from bench.bench_app import seed_models

    missing = [m for m in ("ray", "psycopg") if importlib.util.find_spec(m) is None]
    if missing or not shutil.which("nginx"):
        return [Row("cluster", "skipped", float("nan"), "", target=f"needs {', '.join(missing) or 'nginx'}")]
    races = sessions // 3 if races is None else races
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="medlearn-bench-cluster-"))
    os.chmod(folder, 0o755)  # PostgreSQL's own account reaches its data folder
    try:
        home = folder / "seeded"
        checkpoint = seed_models(home, [get_case("breast")])["breast"]
        spread_checkpoint(checkpoint, "breast", folder)
        uploads = _upload_files(PredictUI(), checkpoint, sessions, folder)
        single_home = folder / "single"
        shutil.copytree(home, single_home)
        single = _single(single_home, uploads, races)
        cluster = _cluster(folder / "cluster", home, uploads, races)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _rows("one server", single, sessions) + _rows("cluster (2 replicas)", cluster, sessions, single)


if __name__ == "__main__":
    import argparse

    from bench.common import format_table, write_results

    ap = argparse.ArgumentParser(description="The classroom across the local cluster.")
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--save", action="store_true", help="write bench/results/cluster.json")
    args = ap.parse_args()
    rows = run(args.sessions)
    print(format_table(rows))
    if args.save:
        write_results("cluster", rows)

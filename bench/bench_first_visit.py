"""First visit (issue 16, item 8): how long until each case's first model answers.

The page's own path: a fresh data home, one ``JobManager`` (worker processes, as the
server runs them), the quick first model of each case (its default network on its best
data here, trained within ``FIRST_VISIT_BUDGET_S``), timed from submit to a finished run
with a checkpoint. First one case at a time (target: each within 60 s), then all six
submitted at once, as six students opening six pages of a fresh install (target: all
within 4 minutes). Baseline, same run: the full default recipe of the same network
(``with_full``), i.e. what the first visit waited for before. Each row also says the
quick model's validation score and epochs, beside the full recipe's.

Run it on an idle machine (the targets are for an idle 2-core CPU); the loadavg at the
start is recorded with the rows.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.common import Row

EACH_S = 60.0
ALL_S = 240.0


@contextmanager
def _manager(home: Path, workers: int | None = None):
    from medlearn.train.jobs import JobManager
    from medlearn.train.store import RunStore

    old = os.environ.get("MEDLEARN_HOME")
    os.environ["MEDLEARN_HOME"] = str(home)  # the workers inherit it: checkpoints and runs stay in the scratch home
    manager = JobManager(RunStore(home / "runs.sqlite"), max_workers=workers)
    try:
        yield manager
    finally:
        manager.close(timeout=20)
        if old is None:
            os.environ.pop("MEDLEARN_HOME", None)
        else:
            os.environ["MEDLEARN_HOME"] = old


def _first_job(case) -> tuple[str, str]:
    from medlearn.data.sources.choice import default_source

    source = default_source(case)
    return case.recipe_for(source).first_network, source


def _timed(manager, case_key: str, arch: str, source: str, **choices) -> tuple[float, object]:
    t0 = time.perf_counter()
    job = manager.submit(case_key, arch, source, **choices)
    manager.wait(job, timeout=3600)
    return time.perf_counter() - t0, manager.store.get_run(job)


def _score(run, metric: str) -> float | None:
    value = (run.metrics or {}).get(metric)
    return round(float(value), 3) if isinstance(value, (int, float)) else None


def run(cases: tuple[str, ...] | None = None, with_full: bool = True, together: bool = True,
        budget_s: float | None = None) -> list[Row]:
    from medlearn.cases import list_cases
    from medlearn.train.recipes import FIRST_VISIT_BUDGET_S

    budget = budget_s or FIRST_VISIT_BUDGET_S
    chosen = [c for c in list_cases(studies=True) if not cases or c.key in cases]
    load = round(os.getloadavg()[0], 2)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in chosen:
            arch, source = _first_job(case)
            metric = case.metrics[0] if case.metrics else "val_loss"
            with _manager(Path(tmp) / f"{case.key}-quick") as manager:
                quick_s, quick = _timed(manager, case.key, arch, source, time_budget_s=budget)
            full_s = full = None
            if with_full:
                with _manager(Path(tmp) / f"{case.key}-full") as manager:
                    full_s, full = _timed(manager, case.key, arch, source)
            ok = quick.status == "done" and bool(quick.checkpoint) and quick_s <= EACH_S
            rows.append(Row("first_visit", f"{case.key}: first model ({arch} on {source})", round(quick_s, 1), "s",
                            baseline=None if full_s is None else round(full_s, 1),
                            ratio=None if full_s is None else round(quick_s / full_s, 2),
                            target=f"<= {EACH_S:.0f} s", ok=ok,
                            extra={"status": quick.status, "budget_s": budget,
                                   "epochs": len(quick.epochs or []) or (quick.metrics or {}).get("epoch"),
                                   metric: _score(quick, metric),
                                   f"full recipe {metric}": None if full is None else _score(full, metric),
                                   "baseline": "the full default recipe, same run", "loadavg": load}))
        if together and len(chosen) > 1:
            with _manager(Path(tmp) / "together") as manager:
                t0 = time.perf_counter()
                jobs = [manager.submit(c.key, *_first_job(c), time_budget_s=budget) for c in chosen]
                statuses = [manager.wait(j, timeout=3600) for j in jobs]
                all_s = time.perf_counter() - t0
            rows.append(Row("first_visit", f"all {len(chosen)} first models submitted at once", round(all_s, 1), "s",
                            baseline=round(sum(r.value for r in rows), 1), ratio=round(all_s / sum(r.value for r in rows), 2),
                            target=f"<= {ALL_S:.0f} s", ok=all(s == "done" for s in statuses) and all_s <= ALL_S,
                            extra={"statuses": statuses, "workers": os.cpu_count(),
                                   "baseline": "the same models one at a time, same run", "loadavg": load}))
    return rows


if __name__ == "__main__":
    import argparse

    from bench.common import format_table, write_results

    ap = argparse.ArgumentParser(description="Time until each case's first model answers.")
    ap.add_argument("--cases", nargs="*", help="case keys (default: all six)")
    ap.add_argument("--no-full", action="store_true", help="skip the full-recipe baseline")
    ap.add_argument("--save", action="store_true", help="write bench/results/first_visit.json")
    args = ap.parse_args()
    rows = run(tuple(args.cases or ()) or None, with_full=not args.no_full)
    print(format_table(rows))
    if args.save:
        write_results("first_visit", rows)

"""``python -m medlearn runs [--case C] [--json]``: the recorded training runs."""

from __future__ import annotations

import json
import math
import time


def add_parser(sub):
    p = sub.add_parser("runs", help="list recorded training runs")
    p.add_argument("--case", help="only runs of this case")
    p.add_argument("--arch", help="only runs of this architecture")
    p.add_argument("--json", action="store_true", help="print JSON (with per-epoch metrics)")
    return p


def _score(metrics: dict) -> str:
    for key in ("dice", "auc", "kappa", "accuracy", "val_loss"):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not math.isnan(value):
            return f"{key}={value:.3f}"
    return "-"


def _clean(value):
    """JSON has no NaN: undefined scores (e.g. AUC with one class present) become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def run(args) -> int:
    from medlearn.train.store import RunStore

    store = RunStore()
    runs = store.list_runs(case=args.case, arch=args.arch)
    if args.json:
        print(json.dumps([_clean(store.get_run(r.id).to_dict()) for r in runs], indent=2, default=str))
        return 0
    if not runs:
        print("no runs recorded yet (train one: python -m medlearn train CASE --arch A)")
        return 0
    print(f"{'id':>4}  {'case':<12} {'arch':<12} {'data':<12} {'status':<11} {'score':<16} {'time':>7}"
          "  started")
    for r in runs:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started or r.created))
        seconds = f"{r.seconds:.0f}s" if r.seconds is not None else "-"
        print(f"{r.id:>4}  {r.case:<12} {r.arch:<12} {r.source:<12} {r.status:<11} {_score(r.metrics):<16} "
              f"{seconds:>7}  {started}")
    return 0

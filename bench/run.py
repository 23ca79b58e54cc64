"""Run the benchmark suite: ``python -m bench.run [--only NAME ...] [--quick]`` (or ``python bench/run.py``).

Prints one table and writes ``bench/results/<name>.json`` per benchmark plus
``bench/results/latest.json`` (every row, with the machine, versions and date).
Benchmarks never run inside the test suite; ``tests/bench`` runs a tiny smoke version.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from pathlib import Path
from dataclasses import asdict

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, Row, format_table, machine_info, write_results

BENCHES = ("readers", "phantoms", "predict", "training", "app", "classroom", "cli", "real_recipes", "first_visit", "trust",
           "robustness", "vessels", "lesions", "cluster")
QUICK = {"phantoms": {"scale": 0.05}, "readers": {"repeat": 5}, "predict": {"repeat": 5},
         "training": {"epochs": 1}, "classroom": {"sessions": 4},
         "app": {"repeat": 1, "warmup": 0, "switch_repeat": 1, "cases": ("breast",)},
         "cli": {"repeat": 1, "warmup": 0}, "real_recipes": {"epochs": 1, "cases": ("lung",)},
         "first_visit": {"cases": ("lung",), "with_full": False, "budget_s": 5},
         "trust": {"repeat": 1, "warmup": 0, "input_size": 32, "with_faithfulness": False},
         "robustness": {"cases": ("breast",), "repeat": 1, "n_items": 2},
         "vessels": {"repeat": 1, "warmup": 0, "recipes": (("phantoms", 256),)},
         "lesions": {"repeat": 1, "warmup": 0, "input_size": 256},
         "cluster": {"sessions": 6, "races": 1}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", choices=BENCHES, help="run only these benchmarks")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke run, numbers not meaningful)")
    args = ap.parse_args(argv)
    all_rows: list[Row] = []
    failed = []
    for name in args.only or BENCHES:
        module = importlib.import_module(f"bench.bench_{name}")
        kwargs = QUICK.get(name, {}) if args.quick else {}
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows = module.run(**kwargs)
        except Exception:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            failed.append(name)
            continue
        if not args.quick:
            write_results(name, rows)
        all_rows.extend(rows)
    print(format_table(all_rows))
    if not args.quick and not args.only:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(
            json.dumps({"machine": machine_info(), "rows": [asdict(r) for r in all_rows]}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

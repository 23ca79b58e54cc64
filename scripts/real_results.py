"""Train the default recipes on the real subsets of the mirror (and on phantoms) and print
the results as a markdown table beside the published figures (docs/RESULTS.md).

    MEDLEARN_MIRROR=/work/shared/data python scripts/real_results.py [--cases breast ...]
        [--archs A ...] [--phantoms [--all-archs]] [--no-real] [--epochs E] [--home DIR] [--json out.json] [--md out.md]

Each row is one ``train_recipe`` call, exactly what the printed command does from the
shell (``python -m medlearn train CASE --arch A --data SOURCE ...``). The split is
``train_recipe``'s: whole patients (when the source names them) or items, ordered by a
hash of the seed (0) and their id, go to validation until ``n_val`` items are held out.
Runs go to a scratch data home (``--home``, default a temporary folder), never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads on a shared machine
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.cases import get_case  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One training run: a case, an architecture, a data source and the choices that differ."""

    case: str
    arch: str
    source: str
    n_train: int | None = None
    n_val: int | None = None
    options: dict = field(default_factory=dict)


# Real subsets of the mirror (sizes in /work/shared/data/README.md). n_train + n_val = all items.
REAL = (
    *(Row("breast", a, "busi", 76, 19) for a in ("alexnet", "resnet18", "classic")),
    Row("breast", "alexnet", "busi", 76, 19, {"enhance": "ace"}),
    *(Row("lung", a, "lidc_crops", 38, 10) for a in ("resnet18", "classic")),  # 2D crops: no 3D model
    *(Row("hippocampus", a, "msd_hippocampus", 36, 9) for a in ("fcn", "unet", "segnet", "unet3d")),
    *(Row("heart", a, "sunnybrook", 56, 18) for a in ("unet", "gnni_unet")),  # 18 frames = one patient
)


def phantom_rows(cases: list[str], all_archs: bool = False) -> list[Row]:
    """The first (or every) default architecture of each case on phantoms, recipe as it is."""
    from medlearn.cases import list_cases

    return [Row(c.key, a, "phantoms") for c in list_cases() if not cases or c.key in cases
            for a in (c.recipe.architectures if all_archs else c.recipe.architectures[:1])]


def command(row: Row, epochs: int | None) -> str:
    """The shell command that reproduces ``row``."""
    parts = [f"python -m medlearn train {row.case} --arch {row.arch} --data {row.source}"]
    if row.n_train:
        parts.append(f"--n-train {row.n_train} --n-val {row.n_val}")
    if epochs:
        parts.append(f"--epochs {epochs}")
    parts += [f"--{k.replace('_', '-')} {v}" for k, v in row.options.items()]
    prefix = "" if row.source == "phantoms" else "MEDLEARN_MIRROR=/work/shared/data "
    return prefix + " ".join(parts)


def run_row(row: Row, epochs: int | None, home: Path) -> dict:
    """Train ``row`` and return its scores, split sizes and times."""
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import split_data, train_recipe
    from medlearn.train.store import RunStore

    case = get_case(row.case)
    choices = dict(epochs=epochs, n_train=row.n_train, n_val=row.n_val, **row.options)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    record = train_recipe(row.case, row.arch, row.source, store=RunStore(home / "runs.sqlite"),
                          checkpoint_root=home / "checkpoints", **choices)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    plan = make_plan(case, row.arch, row.source, **choices)
    train_items, val_items = split_data(plan, case)
    m = record.metrics or {}
    scores = {k: m[k] for k in case.metrics if isinstance(m.get(k), (int, float))}
    for k in ("dice_per_class",):
        if isinstance(m.get(k), dict):
            scores[k] = {n: round(float(v), 4) for n, v in m[k].items()}
    return {"case": row.case, "arch": row.arch, "source": row.source, "options": row.options,
            "status": record.status, "epochs": "one fit" if row.arch == "classic" else plan.epochs, "input_size": plan.input_size,
            "n_train": len(train_items), "n_val": len(val_items), "scores": scores,
            "wall_s": wall, "cpu_s": cpu, "command": command(row, epochs)}


def published(case_key: str) -> str:
    """The case's literature figures, one short phrase each."""
    return "; ".join(f"{p.model} {p.metric} {p.value:g} ({p.dataset})" for p in get_case(case_key).published)


def fmt_scores(scores: dict) -> str:
    parts = []
    for k, v in scores.items():
        if isinstance(v, dict):
            parts.append(f"{k.replace('_per_class', '')} per class " +
                         " / ".join(f"{v[n]:.2f}" for n in v if n != "background"))
        else:
            parts.append(f"{k} {v:.3f}")
    return ", ".join(parts)


def markdown(results: list[dict]) -> str:
    """The results as a markdown table, one row per run."""
    lines = ["| case | data (train / val items) | model | epochs | validation | published | time (wall, cpu) "
             "| command |", "|---|---|---|---|---|---|---|---|"]
    shown = set()
    for r in results:
        cited = published(r["case"]) if r["case"] not in shown else "(as above)"
        shown.add(r["case"])
        model = r["arch"] + (" + " + r["options"]["enhance"].upper() if r["options"].get("enhance") else "")
        lines.append(f"| {r['case']} | {r['source']} ({r['n_train']} / {r['n_val']}) | {model} | {r['epochs']} | "
                     f"{fmt_scores(r['scores']) if r['status'] == 'done' else r['status']} | "
                     f"{cited} | {r['wall_s']:.0f} s, {r['cpu_s']:.0f} s | `{r['command']}` |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="*", default=[], help="only these cases")
    p.add_argument("--archs", nargs="*", default=[], help="only these architectures")
    p.add_argument("--no-real", dest="real", action="store_false", help="skip the real-data rows")
    p.add_argument("--phantoms", action="store_true", help="also train each case's default recipe on phantoms")
    p.add_argument("--all-archs", action="store_true", help="with --phantoms: every default architecture, "
                   "not only the first")
    p.add_argument("--epochs", type=int, help="override every recipe's epochs (say so in the table)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--home", help="scratch data home for runs and checkpoints (default: a temporary folder)")
    p.add_argument("--json", help="write the raw results here")
    p.add_argument("--md", help="write the markdown table here")
    args = p.parse_args(argv)
    if args.real and not os.environ.get("MEDLEARN_MIRROR"):
        raise SystemExit("Set MEDLEARN_MIRROR to the local mirror of real datasets (e.g. /work/shared/data), "
                         "or pass --no-real.")
    torch.set_num_threads(args.threads)
    rows = [r for r in REAL if not args.cases or r.case in args.cases] if args.real else []
    rows += phantom_rows(args.cases, args.all_archs) if args.phantoms else []
    rows = [r for r in rows if not args.archs or r.arch in args.archs]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        for i, row in enumerate(rows, 1):
            print(f"[{i}/{len(rows)}] {command(row, args.epochs)}", file=sys.stderr, flush=True)
            results.append(run_row(row, args.epochs, home))
            print(f"    {fmt_scores(results[-1]['scores'])}  ({results[-1]['wall_s']:.0f} s)", file=sys.stderr,
                  flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    if args.md:
        Path(args.md).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

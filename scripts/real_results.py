"""Train each case's default recipe on its real subset of the mirror and score it on held-out
data with ``evaluate``: every figure with its sample size and bootstrap 95 % interval, beside
the published figure (docs/RESULTS.md, section "Real data").

    MEDLEARN_MIRROR=/work/shared/data python scripts/real_results.py [--cases heart ...]
        [--archs unet ...] [--home DIR] [--json out.json] [--md out.md] [--resamples 1000]

Each row is what ``python -m medlearn train CASE --arch A --data SOURCE`` trains by default
(the case's recipe for that source, ``CaseStudy.recipe_for``), then what
``python -m medlearn evaluate CASE --checkpoint CKPT --split SPLIT`` prints:

* a source with published splits (RetinaMNIST) is scored on its official test split, which
  training never sees; the published MedMNIST figures were measured there;
* the mirror's other sets are split by patient (or image) and seed, about a fifth held out;
  nothing is chosen on a segmenter's held-out items, so its scores are held-out scores; a
  classifier's operating threshold is chosen there, so its thresholded figures (balanced
  accuracy, sensitivity, specificity) are optimistic, its AUC is not.

Runs go to a scratch data home (``--home``, default a temporary folder), never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads on a shared machine
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.cases import get_case  # noqa: E402
from medlearn.results import RESULTS_FILE, figure_text, held_out_text, model_text  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One default recipe on one real source, and the figures its table row shows."""

    case: str
    arch: str
    source: str
    figures: tuple[str, ...]
    folds: int = 0  # K >= 2: K-fold cross-validation by patient, every item held out once
    init: str = "scratch"  # "phantoms": sim-to-real (pre-trained on the case's phantoms, then fine-tuned)


CLASSIFY = ("auc", "balanced_accuracy", "accuracy")
SEGMENT = ("dice", "dice[LV cavity]", "dice[myocardium]", "ef_abs_error")
VESSELS = ("fov_auc", "fov_accuracy", "fov_sensitivity", "fov_specificity", "fov_dice")  # in the field of view
# The small sets (95 BUSI images, 48 LIDC nodules of 26 patients, 4 Sunnybrook patients) are
# cross-validated: a single held-out fifth was 19 images (AUC interval +-0.25) or one heart patient.
REAL = (
    *(Row("breast", a, "busi", CLASSIFY, folds=5) for a in ("alexnet", "resnet18", "classic")),
    *(Row("lung", a, "lidc_crops", CLASSIFY, folds=4) for a in ("resnet18", "classic")),  # 2D crops: no 3D model
    *(Row("hippocampus", a, "msd_hippocampus", ("dice", "dice[anterior (head)]", "dice[posterior (body/tail)]"))
      for a in ("unet3d", "unet", "fcn", "segnet", "maskrcnn")),  # the review's five
    *(Row("heart", a, "sunnybrook", SEGMENT, folds=4) for a in ("gnni_unet", "unet")),
    Row("heart", "unet", "sunnybrook", SEGMENT, folds=4, init="phantoms"),  # the sim-to-real lesson
    Row("retina", "resnet18", "retinamnist", ("auc", "accuracy", "kappa")),
    # CHASE_DB1 (the mirror: 10 photographs of 5 children): leave one child out, both eyes together
    *(Row("retina_vessels", a, "chase_db1", VESSELS, folds=5) for a in ("unet", "fcn")),
)


def held_out_split(source: str) -> str:
    from medlearn.data.sources import get_source

    return "test" if getattr(get_source(source), "published_splits", False) else "val"


def run_row(row: Row, home: Path, resamples: int) -> dict:
    """Train ``row``'s default recipe (once, or once per fold), then score it on held-out data:
    the held-out split, or every item answered by the fold model that did not train on it."""
    from medlearn.evaluate import evaluate, score
    from medlearn.predict import Predictor
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import split_data, train_recipe
    from medlearn.train.store import RunStore

    store = RunStore(home / "runs.sqlite")
    predictor = Predictor(device="cpu", store=store)
    folds = [f"{k}/{row.folds}" for k in range(1, row.folds + 1)] if row.folds else [None]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    records = [train_recipe(row.case, row.arch, row.source, store=store, fold=fold, init=row.init) for fold in folds]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    status = "done" if all(r.status == "done" for r in records) else records[-1].status
    if row.folds:
        split = f"{row.folds}-fold"
        items, checkpoints = [], []
        for fold, record in zip(folds, records):
            _, held_out = split_data(make_plan(get_case(row.case), row.arch, row.source, fold=fold, init=row.init))
            items += held_out
            checkpoints += [record.checkpoint] * len(held_out)
        result = score(row.case, items, checkpoints, predictor=predictor, resamples=resamples)
    else:
        split = held_out_split(row.source)
        result = evaluate(row.case, row.source, checkpoint=records[0].checkpoint, split=split,
                          resamples=resamples, predictor=predictor)
    figures = {}
    for name in row.figures:
        try:
            figures[name] = result.figure(name).to_dict()
        except KeyError:
            continue
    return {"case": row.case, "arch": row.arch, "source": row.source, "init": row.init, "status": status,
            "split": split, "n_items": result.n_items, "n_groups": result.n_groups, "models": len(records),
            "threshold": result.threshold, "figures": figures, "wall_s": wall, "cpu_s": cpu,
            "plan": records[0].config, "notes": result.notes}


def published(case_key: str) -> str:
    """The case's literature figures, one short phrase each."""
    return "; ".join(f"{p.model} {p.metric} {p.value:g} ({p.dataset})" for p in get_case(case_key).published)


def markdown(results: list[dict]) -> str:
    """The results as a markdown table, one row per run."""
    lines = ["| case | model | data (held out) | held-out figures, 95 % interval | train time (wall, cpu) "
             "| published |", "|---|---|---|---|---|---|"]
    shown = set()
    for r in results:
        cited = published(r["case"]) if r["case"] not in shown else "(as above)"
        shown.add(r["case"])
        figures = "; ".join(figure_text(f) for f in r["figures"].values()) if r["status"] == "done" else r["status"]
        models = r.get("models", 1)
        per = f" ({models} models: {r['wall_s'] / models:.0f} s each)" if models > 1 else ""
        lines.append(f"| {r['case']} | {model_text(r)} | {held_out_text(r)} | {figures} | {r['wall_s']:.0f} s, "
                     f"{r['cpu_s']:.0f} s{per} | {cited} |")
    return "\n".join(lines) + "\n"


def save(results: list[dict]) -> None:
    """Merge ``results`` into :data:`RESULTS_FILE` (the pages' figures), keyed by case, network and data."""
    key = lambda r: (r["case"], r["arch"], r["source"], r.get("init", "scratch"))  # noqa: E731
    kept = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else []
    new = {key(r): r for r in results}
    merged = [new.pop(key(r), r) for r in kept] + list(new.values())
    order = {row.case: i for i, row in reversed(list(enumerate(REAL)))}
    merged.sort(key=lambda r: order.get(r["case"], len(order)))
    RESULTS_FILE.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    print(f"saved {len(results)} row(s) into {RESULTS_FILE}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="*", default=[], help="only these cases")
    p.add_argument("--archs", nargs="*", default=[], help="only these architectures")
    p.add_argument("--init", nargs="*", default=[], help="only rows with these starting weights (scratch, phantoms)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--home", help="scratch data home for runs and checkpoints (default: a temporary folder)")
    p.add_argument("--json", help="write the raw results here")
    p.add_argument("--md", help="write the markdown table here")
    p.add_argument("--table-from", metavar="JSON", help="only print the table of an earlier --json file")
    p.add_argument("--save", nargs="*", metavar="JSON",
                   help=f"merge these runs (this run's, or earlier --json files) into {RESULTS_FILE.name}, which "
                        "the case pages show: a row replaces the saved row of the same case, network and data")
    args = p.parse_args(argv)
    if args.table_from:
        print(markdown(json.loads(Path(args.table_from).read_text())))
        return 0
    if args.save:  # earlier --json files: merge them, train nothing
        save([row for name in args.save for row in json.loads(Path(name).read_text())])
        return 0
    if not os.environ.get("MEDLEARN_MIRROR"):
        raise SystemExit("Set MEDLEARN_MIRROR to the local mirror of real datasets (e.g. /work/shared/data).")
    torch.set_num_threads(args.threads)
    rows = [r for r in REAL if (not args.cases or r.case in args.cases) and (not args.archs or r.arch in args.archs)
            and (not args.init or r.init in args.init)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        os.environ["MEDLEARN_HOME"] = str(home)
        for i, row in enumerate(rows, 1):
            print(f"[{i}/{len(rows)}] {row.case} {row.arch} on {row.source}", file=sys.stderr, flush=True)
            results.append(run_row(row, home, args.resamples))
            print("    " + "; ".join(figure_text(f) for f in results[-1]["figures"].values())
                  + f"  ({results[-1]['wall_s']:.0f} s)", file=sys.stderr, flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    if args.save is not None:
        save(results)
    if args.md:
        Path(args.md).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

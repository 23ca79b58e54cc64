"""Transfer learning on real data: the same network and split trained from scratch, from
ImageNet (when its weights are on this machine) and from MedLearn's own pre-training
(sim-to-real: the case's phantoms first), each scored on held-out patients with a 95 %
bootstrap interval, plus the paired difference from scratch (the same patients resampled
for both runs, ``medlearn.train.transfer.paired_differences``).

    MEDLEARN_MIRROR=/work/shared/data python scripts/transfer_results.py [--cases retina breast]
        [--home DIR] [--json out.json] [--resamples 1000] [--threads 2]

Each run is what ``python -m medlearn train CASE --arch A --data SOURCE --init INIT`` trains
(the case's real-data recipe), scored as ``scripts/real_results.py`` scores it: RetinaMNIST
on its official test split (never seen in training), BUSI by 5-fold cross-validation (every
image answered by the fold model that did not train on it). Runs go to a scratch data home.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads on a shared machine
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from medlearn.cases import get_case  # noqa: E402
from medlearn.results import figure_text  # noqa: E402

# (case, network, real source, folds (0: the source's own test split), figures)
ROWS = {
    "retina": ("retina", "resnet18", "retinamnist", 0, ("auc", "accuracy", "kappa")),
    "breast": ("breast", "resnet18", "busi", 5, ("auc", "accuracy")),
}
INITS = ("scratch", "imagenet", "phantoms")


def train_and_score(case: str, arch: str, source: str, folds: int, init: str, store, predictor, resamples: int):
    """Train (once, or once per fold) and score on held-out items; returns (Evaluation, seconds)."""
    from medlearn.evaluate import evaluate, score
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import split_data, train_recipe

    fold_names = [f"{k}/{folds}" for k in range(1, folds + 1)] if folds else [None]
    start = time.perf_counter()
    records = [train_recipe(case, arch, source, store=store, fold=f, init=init) for f in fold_names]
    seconds = time.perf_counter() - start
    if any(r.status != "done" for r in records):
        raise RuntimeError(f"{case} {arch} {init}: a run ended {records[-1].status}")
    if folds:
        items, checkpoints = [], []
        for fold, record in zip(fold_names, records):
            _, held = split_data(make_plan(get_case(case), arch, source, fold=fold, init=init))
            items += held
            checkpoints += [record.checkpoint] * len(held)
        return score(case, items, checkpoints, predictor=predictor, resamples=resamples), seconds, records
    return (evaluate(case, source, checkpoint=records[0].checkpoint, split="test", resamples=resamples,
                     predictor=predictor), seconds, records)


def run_case(key: str, home: Path, resamples: int) -> dict:
    from medlearn.models.pretrained import imagenet_unavailable_reason
    from medlearn.predict import Predictor
    from medlearn.train.store import RunStore
    from medlearn.train.transfer import paired_differences

    case, arch, source, folds, figures = ROWS[key]
    store = RunStore(home / "runs.sqlite")
    predictor = Predictor(device="cpu", store=store)
    out = {"case": case, "arch": arch, "source": source, "held_out": f"{folds}-fold" if folds else "test split",
           "runs": {}, "differences": {}, "unavailable": {},
           "published": [f"{p.model} {p.metric} {p.value:g} ({p.dataset}, {p.source})"
                         for p in get_case(case).published]}
    evaluations = {}
    for init in INITS:
        reason = imagenet_unavailable_reason(arch) if init == "imagenet" else None
        if reason:
            out["unavailable"][init] = reason
            print(f"  {init}: unavailable: {reason}", file=sys.stderr, flush=True)
            continue
        print(f"  {case} {arch} on {source}, init {init}...", file=sys.stderr, flush=True)
        ev, seconds, records = train_and_score(case, arch, source, folds, init, store, predictor, resamples)
        evaluations[init] = ev
        out["runs"][init] = {"seconds": round(seconds, 1), "n_items": ev.n_items, "n_groups": ev.n_groups,
                             "figures": {f: ev.figure(f).to_dict() for f in figures},
                             "checkpoints": [r.checkpoint for r in records]}
        print("    " + "; ".join(figure_text(ev.figure(f).to_dict()) for f in figures) + f" ({seconds:.0f} s)",
              file=sys.stderr, flush=True)
    for init, ev in evaluations.items():
        if init != "scratch":
            diff = paired_differences(evaluations["scratch"], ev, figures, resamples)
            out["differences"][init] = {m: f.to_dict() for m, f in diff.items()}
            print(f"    {init} - scratch: " + "; ".join(diff_text(f.to_dict()) for f in diff.values()),
                  file=sys.stderr, flush=True)
    return out


def diff_text(f: dict) -> str:
    """``"AUC +0.011 [+0.002, +0.020] (n 400)"``: a paired difference, signed, three decimals."""
    name = f["label"].replace(" difference", "")
    if f.get("value") is None:
        return f"{name}: -"
    ci = f" [{f['ci_low']:+.3f}, {f['ci_high']:+.3f}]" if f.get("ci_low") is not None else ""
    return f"{name} {f['value']:+.3f}{ci} (n {f['n']})"


def markdown(results: list[dict]) -> str:
    lines = ["| case | network, data (held out) | start | held-out figures, 95 % interval | minus scratch (paired), "
             "95 % interval | train time (wall) |", "|---|---|---|---|---|---|"]
    for r in results:
        where = f"{r['arch']}, {r['source']} ({r['held_out']})"
        for init in INITS:
            if init in r["unavailable"]:
                lines.append(f"| {r['case']} | {where} | {init} | unavailable: {r['unavailable'][init]} | | |")
                continue
            run = r["runs"][init]
            figs = "; ".join(figure_text(f) for f in run["figures"].values())
            diff = "; ".join(diff_text(f) for f in r["differences"].get(init, {}).values()) or "(reference)"
            lines.append(f"| {r['case']} | {where} | {init} | {figs} | {diff} | {run['seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="*", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--home", help="scratch data home for runs and checkpoints (default: a temporary folder)")
    p.add_argument("--json", help="write the raw results here (after each case)")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--table-from", metavar="JSON", help="only print the table of an earlier --json file")
    args = p.parse_args(argv)
    if args.table_from:
        print(markdown(json.loads(Path(args.table_from).read_text())))
        return 0
    if not os.environ.get("MEDLEARN_MIRROR"):
        raise SystemExit("Set MEDLEARN_MIRROR to the local mirror of real datasets (e.g. /work/shared/data).")
    torch.set_num_threads(args.threads)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        os.environ["MEDLEARN_HOME"] = str(home)
        for key in args.cases:
            print(f"[{key}]", file=sys.stderr, flush=True)
            results.append(run_case(key, home, args.resamples))
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""FROC of trained nodule detectors on their validation split, with 95 % bootstrap intervals.

    python scripts/detection_results.py [--home DIR] [--resamples 1000] [--cross] [--json out.json]

For every finished ``lung_detection`` run in the data home's run store (the best validation
CPM of each architecture and source, cross-validation folds aside), the run's own
validation items are rebuilt from its plan (:func:`medlearn.train.recipes.split_data`: the
same patients, never trained on), every slice is answered through the predictor (the one
prediction path) and scored by :func:`medlearn.froc.evaluate_detector`: sensitivity at 1/8 to
8 false positives per slice and CPM, each with n (slices, nodules, patients) and a percentile
bootstrap interval over slices (phantoms) or patients (LIDC-derived slices). ``--cross`` adds
each phantom-trained detector scored on a real source's validation slices (no fine-tuning).
Complete sets of cross-validation folds (``train --fold k/K``) are scored pooled: every slice
by the fold model that did not train on its patient. Prints a Markdown table for docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medlearn.cases import get_case  # noqa: E402
from medlearn.froc import FP_RATES, HIT_RULE, evaluate_detector, rate_key, rate_label  # noqa: E402

CASE = "lung_detection"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="MedLearn data home (default: $MEDLEARN_HOME)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--cross", action="store_true",
                        help="also score each phantom-trained detector on the real sources' validation slices")
    args = parser.parse_args(argv)
    if args.home:
        os.environ["MEDLEARN_HOME"] = str(Path(args.home).resolve())
    from medlearn.predict import Predictor
    from medlearn.train.plan import RunPlan
    from medlearn.train.recipes import split_data
    from medlearn.train.store import RunStore

    store, case = RunStore(), get_case(CASE)
    predictor = Predictor(device="cpu", store=store)
    best: dict[tuple[str, str], object] = {}
    for run in store.list_runs(case=CASE, status="done"):
        if run.checkpoint and Path(run.checkpoint).exists() and not (run.config or {}).get("fold"):
            key = (run.arch, run.source)
            value = (run.metrics or {}).get("cpm")
            if key not in best or (value is not None and value > (best[key].metrics or {}).get("cpm", -1)):
                best[key] = run
    splits = {}  # the validation items of each (arch, source) run, rebuilt from its plan
    for (arch, source), run in best.items():
        plan = RunPlan(**{k: v for k, v in run.config.items() if k in RunPlan.__dataclass_fields__})
        splits[(arch, source)] = split_data(plan, case)[1]
    jobs = [(arch, source, source, run) for (arch, source), run in sorted(best.items())]
    if args.cross:  # a phantom-trained detector on each real source's validation slices, not fine-tuned
        jobs += [(arch, "phantoms", source, best[(arch, "phantoms")]) for (arch, source) in sorted(best)
                 if source != "phantoms" and (arch, "phantoms") in best]
    out, lines = {}, []
    header = "| model | data | slices | nodules | patients | CPM [95 % CI] | " + " | ".join(
        f"{rate_label(r)} FP" for r in FP_RATES) + " |"
    lines += [header, "|" + "---|" * (6 + len(FP_RATES))]
    for arch, trained_on, source, run in jobs:
        val = splits[(arch, source)]
        ev = evaluate_detector(CASE, val, run.checkpoint, predictor=predictor, resamples=args.resamples)
        cpm = ev.figure("cpm")
        patients = len({(getattr(it, "meta", None) or {}).get("patient") for it in val} - {None})
        cells = [f"{ev.figure(rate_key(r)).value:.2f}" for r in FP_RATES]
        data = source if trained_on == source else f"{source} (trained on {trained_on} only)"
        lines.append(f"| {arch} | {data} | {ev.n_images} | {ev.n_objects} | {patients or '-'} | "
                     f"{cpm.value:.3f} [{cpm.low:.3f}, {cpm.high:.3f}] | " + " | ".join(cells) + " |")
        out[f"{arch}/{trained_on}->{source}"] = {**ev.to_dict(), "run": run.id, "patients": patients,
                                   "training_cpm": (run.metrics or {}).get("cpm")}
        print(lines[-1], flush=True)
    for arch, source, runs in _fold_groups(store):  # cross-validation: every item answered by the fold that left it out
        plans = [RunPlan(**{k: v for k, v in r.config.items() if k in RunPlan.__dataclass_fields__}) for r in runs]
        items, checkpoints = [], []
        for plan, run in zip(plans, runs):
            held_out = split_data(plan, case)[1]
            items += held_out
            checkpoints += [run.checkpoint] * len(held_out)
        ev = evaluate_detector(CASE, items, checkpoints, predictor=predictor, resamples=args.resamples)
        cpm = ev.figure("cpm")
        patients = len({(getattr(it, "meta", None) or {}).get("patient") for it in items} - {None})
        cells = [f"{ev.figure(rate_key(r)).value:.2f}" for r in FP_RATES]
        lines.append(f"| {arch} | {source}, {len(runs)}-fold cross-validation by patient | {ev.n_images} | "
                     f"{ev.n_objects} | {patients} | {cpm.value:.3f} [{cpm.low:.3f}, {cpm.high:.3f}] | "
                     + " | ".join(cells) + " |")
        out[f"{arch}/{source}/cv{len(runs)}"] = {**ev.to_dict(), "runs": [r.id for r in runs], "patients": patients}
        print(lines[-1], flush=True)
    print(f"\nHit: {HIT_RULE}. Intervals: percentile bootstrap ({args.resamples} resamples) over slices "
          "(phantoms) or patients (LIDC-derived).")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return 0


def _fold_groups(store):
    """``(arch, source, runs)`` for each complete set of finished cross-validation folds (``k/K``,
    the newest run of each fold), in fold order."""
    folds: dict[tuple[str, str, int], dict[int, object]] = {}
    for run in store.list_runs(case=CASE, status="done"):
        fold = (run.config or {}).get("fold")
        if not fold or not run.checkpoint or not Path(run.checkpoint).exists():
            continue
        k, n = (int(v) for v in str(fold).split("/"))
        folds.setdefault((run.arch, run.source, n), {}).setdefault(k, run)  # runs come newest first
    return [(arch, source, [runs[k] for k in range(1, n + 1)])
            for (arch, source, n), runs in sorted(folds.items()) if len(runs) == n]


if __name__ == "__main__":
    raise SystemExit(main())

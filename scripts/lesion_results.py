"""The Lesions study measured: hard-exudate segmentation cross-validated on IDRiD, and whether the
grading network's Grad-CAM lands on IDRiD's (and the phantoms') hard exudates.

    MEDLEARN_MIRROR=/work/shared/data python scripts/lesion_results.py [--folds 3] [--archs unet]
        [--grading CKPT ...] [--train-grading] [--phantoms 60] [--home DIR] [--json OUT] [--save]

* Segmentation: :func:`medlearn.lesions.cross_validate` (the case's IDRiD recipe once per fold,
  folds by photograph, each photograph answered by the fold model that never saw it): Dice,
  sensitivity, AUPR (mean per photograph and pooled) inside the field of view, 95 % intervals.
* Grad-CAM: :func:`medlearn.trust.lesion_cam.score_grading_maps` for each grading checkpoint
  (``--grading``, or with ``--train-grading`` the retina case's default recipes on phantoms and
  on RetinaMNIST, trained here) on the IDRiD photographs (with their optic discs) and on
  ``--phantoms`` hard-exudate phantoms.

``--save`` writes the rows to docs/lesion_results.json, which the Lesions study shows. Runs go to a
scratch data home (``--home``, default a temporary folder), never the user's.
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
from medlearn.results import figure_text  # noqa: E402

RESULTS = ROOT / "docs" / "lesion_results.json"
PHANTOM_SEED = 7


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def segmentation_rows(archs, folds: int, store, predictor, resamples: int) -> list[dict]:
    from medlearn.lesions import cross_validate

    rows = []
    for arch in archs:
        result = cross_validate("retina_lesions", arch, "idrid", folds, store=store, predictor=predictor,
                                resamples=resamples, progress=log)
        row = {"kind": "segmentation", **result.to_dict()}
        log("    " + "; ".join(figure_text(f) for f in row["figures"].values()) + f" ({row['wall_s']:.0f} s)")
        rows.append(row)
    return rows


def grading_checkpoints(store, train: bool) -> list[str]:
    """The grading networks to explain: the retina case's default recipes on phantoms and on
    RetinaMNIST, trained in the scratch home."""
    from medlearn.train.recipes import train_recipe

    out = []
    if train:
        for source in ("phantoms", "retinamnist"):
            log(f"training the grading network resnet18 on {source}")
            record = train_recipe("retina", "resnet18", source, store=store)
            if record.status == "done":
                out.append(record.checkpoint)
    return out


def cam_rows(checkpoints, n_phantoms: int, predictor, resamples: int) -> list[dict]:
    from medlearn.data.phantoms import generate
    from medlearn.data.sources import get_source
    from medlearn.train.checkpoints import read_meta
    from medlearn.trust.lesion_cam import score_grading_maps

    source = get_source("idrid")
    idrid = source.load("retina_lesions")
    discs = {s.id: d for s in idrid if (d := source.optic_disc(s)) is not None}
    phantoms = [p for p in generate("retina_lesions", n=n_phantoms, seed=PHANTOM_SEED) if p.mask.any()]
    rows = []
    for checkpoint in checkpoints:
        meta = read_meta(checkpoint)
        plan = meta.get("plan") or {}
        for data, items, known in (("idrid", idrid, discs), ("phantoms", phantoms, None)):
            t0 = time.perf_counter()
            result = score_grading_maps(items, checkpoint, discs=known, predictor=predictor, resamples=resamples)
            row = {"kind": "grading_cam", "data": data, "grading_source": meta.get("source"),
                   "grading_input_size": plan.get("input_size"), "grading_epochs": plan.get("epochs"),
                   "grading_metrics": {k: v for k, v in (meta.get("metrics") or {}).items()
                                       if k in ("accuracy", "kappa", "auc")},
                   "n_items": len(result.rows), "seconds": time.perf_counter() - t0, **result.to_dict()}
            rows.append(row)
            log(f"    {meta.get('source')} network on {data}: {result.verdict}")
    return rows


def value_text(f: dict) -> str:
    """``"0.333 [0.07, 0.60] (n 15)"``: a figure without its label (the column names it)."""
    return figure_text({**f, "label": ""}).strip()


def markdown(rows: list[dict]) -> str:
    lines = []
    seg = [r for r in rows if r["kind"] == "segmentation"]
    if seg:
        lines += ["| model | data (held out) | figures inside the field of view, 95 % interval | train time (wall, cpu) |",
                  "|---|---|---|---|"]
        for r in seg:
            plan = r.get("plan") or {}
            model = f"{r['arch']} ({plan.get('input_size')} px, tiles {plan.get('tile')}, {plan.get('epochs')} ep)"
            lines.append(f"| {model} | {r['source']}, {r['split']} cross-validation ({r['n_items']} photographs, "
                         f"{r['n_groups']} patients) | {'; '.join(figure_text(f) for f in r['figures'].values())} | "
                         f"{r['wall_s']:.0f} s, {r['cpu_s']:.0f} s |")
    cam = [r for r in rows if r["kind"] == "grading_cam"]
    if cam:
        lines += ["", "| grading network | photographs | pointing game (chance) | energy in lesions (chance) | "
                  "energy / chance | peak on optic disc | verdict |", "|---|---|---|---|---|---|---|"]
        for r in cam:
            f = r["figures"]
            disc = value_text(f["on_disc"]) if "on_disc" in f else "-"
            lines.append(f"| resnet18 on {r['grading_source']} ({r['grading_input_size']} px) | {r['data']} "
                         f"({r['n_items']}) | {value_text(f['hit'])} ({f['hit_chance']['value']:.2f}) | "
                         f"{value_text(f['energy'])} ({f['energy_chance']['value']:.3f}) | "
                         f"{value_text(f['energy_ratio'])} | {disc} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    p.add_argument("--archs", nargs="*", default=["unet"], help="segmenters to cross-validate (none: skip)")
    p.add_argument("--grading", nargs="*", default=[], help="grading checkpoints whose Grad-CAM to score")
    p.add_argument("--train-grading", action="store_true", help="train the retina case's default grading recipes")
    p.add_argument("--phantoms", type=int, default=60, help="hard-exudate phantoms to score the maps on")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--home", help="scratch data home (default: a temporary folder)")
    p.add_argument("--json", help="write the raw rows here")
    p.add_argument("--save", action="store_true", help=f"merge the rows into {RESULTS.relative_to(ROOT)}")
    p.add_argument("--table-from", metavar="JSON", help="only print the tables of an earlier --json file")
    p.add_argument("--save-from", metavar="JSON", help=f"merge an earlier --json file into {RESULTS.name}, train nothing")
    args = p.parse_args(argv)
    if args.table_from:
        print(markdown(json.loads(Path(args.table_from).read_text())))
        return 0
    if args.save_from:
        save(json.loads(Path(args.save_from).read_text()))
        return 0
    if not os.environ.get("MEDLEARN_MIRROR"):
        raise SystemExit("Set MEDLEARN_MIRROR to the local mirror of real datasets (e.g. /work/shared/data).")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        os.environ["MEDLEARN_HOME"] = str(home)
        from medlearn.predict import Predictor
        from medlearn.train.store import RunStore

        store = RunStore(home / "runs.sqlite")
        predictor = Predictor(device="cpu", store=store)
        rows = segmentation_rows(args.archs, args.folds, store, predictor, args.resamples)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
        checkpoints = list(args.grading) + grading_checkpoints(store, args.train_grading)
        rows += cam_rows(checkpoints, args.phantoms, predictor, args.resamples) if checkpoints else []
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    if args.save:
        save(rows)
    print(markdown(rows))
    return 0


def save(rows: list[dict]) -> None:
    """Merge ``rows`` into :data:`RESULTS`: a row replaces the saved one of the same kind, model and data."""
    def key(r):
        return (r["kind"], r.get("arch"), r.get("source"), r.get("data"), r.get("grading_source"))
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    rows = [{k: v for k, v in r.items() if k != "checkpoint"} for r in rows]  # scratch paths mean nothing later
    new = {key(r): r for r in rows}
    merged = [new.pop(key(r), r) for r in kept] + list(new.values())
    RESULTS.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    log(f"saved {len(rows)} row(s) into {RESULTS}")


if __name__ == "__main__":
    raise SystemExit(main())

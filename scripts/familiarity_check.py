"""Familiarity check of trained checkpoints: recalibrate a copy with this MedLearn's views
(:func:`medlearn.train.recipes.recalibrate_familiarity`, on the split the checkpoint trained
on), then judge its own training and validation images and six everyday photographs that
scikit-image ships (2D models only).

    python scripts/familiarity_check.py CHECKPOINT [CHECKPOINT ...] [--out DIR] [--n 8]

The checkpoints themselves are not touched: copies are recalibrated in ``--out`` (a
temporary folder by default), where ``result.json`` holds every verdict. Needs the data the
checkpoints trained on ($MEDLEARN_MIRROR for real data).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOGRAPHS = ("astronaut", "chelsea", "camera", "coffee", "rocket", "brick")


def photograph(name: str):
    """A scikit-image sample photograph as an upload would arrive (a PNG read by MedLearn)."""
    from PIL import Image
    from skimage import data

    from medlearn.data.io import read_image

    buf = io.BytesIO()
    Image.fromarray(getattr(data, name)()).save(buf, format="PNG")
    return read_image(buf.getvalue(), f"{name}.png")


def check(src: Path, out: Path, n: int) -> dict:
    from medlearn.cases import get_case
    from medlearn.predict import Predictor
    from medlearn.train.plan import RunPlan
    from medlearn.train.recipes import recalibrate_familiarity, split_data

    ck = out / src.name
    shutil.copy(src, ck)
    shutil.copy(src.with_suffix(".json"), ck.with_suffix(".json"))
    calibration = recalibrate_familiarity(ck)  # what Predict's "Recalibrate" button does
    plan = RunPlan(**json.loads(ck.with_suffix(".json").read_text())["plan"])
    case = get_case(plan.case)
    train_items, val_items = split_data(plan, case)
    predictor = Predictor(device="cpu")
    groups = {"train": [(it.id, it.image) for it in train_items[:n]],
              "val": [(it.id, it.image) for it in val_items[:n]]}
    if plan.model_dims == 2 and case.task.spatial_dims == 2:
        groups["photographs"] = [(name, photograph(name)) for name in PHOTOGRAPHS]
    verdicts = collections.defaultdict(list)
    for group, images in groups.items():
        for name, image in images:
            fam = predictor.predict(case.key, image, explain=None, checkpoint=str(ck)).familiarity
            verdicts[group].append({"image": str(name), **(fam.to_dict() if fam else {"level": None})})
    return {"checkpoint": str(src), "case": case.key, "arch": plan.arch, "source": plan.source,
            "p99": {view: calibration[view]["p99"] for view in ("last", "early")}, "verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for the recalibrated copies")
    parser.add_argument("--n", type=int, default=8, help="training and validation images judged, each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        results = [check(path, out, args.n) for path in args.checkpoints]
        for r in results:
            print(f"{r['case']} {r['arch']} {r['source']}: 99th percentile last {r['p99']['last']:.2g}, "
                  f"early {r['p99']['early']:.2g}")
            for group, rows in r["verdicts"].items():
                levels = collections.Counter(row["level"] for row in rows)
                ratios = [row.get("ratio") for row in rows]
                print(f"  {group}: {dict(levels)}; ratios {ratios}")
        (out / "result.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

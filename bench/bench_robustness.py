"""Robustness curves (``medlearn.trust.robustness``): their cost beside one plain prediction.

For each case (default: breast and heart, a classifier and a segmenter at the recipe's
size, fresh weights: latency does not depend on what a model learned), measured in the
same run as the baseline, one ``Predictor.predict`` without explanation:

* one image's curve for each perturbation (one answer per strength level): its time per
  answer against the plain prediction (target: ratio <= 1.5, the perturbation itself may
  add at most half a prediction);
* the noise curve over ``n_items`` phantoms (every strength of every item): time per
  answer against the plain prediction (same target).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from bench.common import Row, interleaved
from medlearn.cases import get_case
from medlearn.data.phantoms import generate
from medlearn.models import get_model
from medlearn.predict import Predictor
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta
from medlearn.trust.robustness import image_curve, list_perturbations, set_curve

LIMIT = 1.5


def _checkpoint(case, folder: Path) -> Path:
    torch.manual_seed(0)
    arch = case.recipe.first_network
    meta = untrained_meta(case.key, arch, source="bench")
    model = get_model(arch, in_channels=meta["in_channels"], num_classes=meta["num_classes"],
                      spatial_dims=meta["spatial_dims"], width=meta["width"], input_size=meta["input_size"])
    return save_checkpoint(model, meta, folder / f"{case.key}_{arch}.safetensors")


def _row(case, name: str, seconds: float, answers: int, plain_ms: float, extra: dict) -> Row:
    per_answer = seconds * 1000 / answers
    ratio = per_answer / plain_ms
    return Row("robustness", f"{case.key}: {name}", seconds * 1000, "ms", baseline=plain_ms, ratio=ratio,
               target=f"per answer <= {LIMIT}x a plain prediction", ok=ratio <= LIMIT,
               extra={"answers": answers, "ms_per_answer": per_answer, **extra})


def run(cases: tuple[str, ...] = ("breast", "heart"), repeat: int = 5, n_items: int = 8,
        perturbations: tuple[str, ...] | None = None) -> list[Row]:
    rows: list[Row] = []
    specs = [p for p in list_perturbations() if perturbations is None or p.name in perturbations]
    with tempfile.TemporaryDirectory() as tmp:
        predictor = Predictor(device="cpu")
        for key in cases:
            case = get_case(key)
            ckpt = str(_checkpoint(case, Path(tmp)))
            items = generate(key, n=n_items, seed=5)
            image = items[0].image
            plain = interleaved({"plain": lambda: predictor.predict(key, image, explain=None, checkpoint=ckpt)},
                                repeat=repeat)["plain"].median
            for spec in specs:
                start = time.perf_counter()
                image_curve(key, image, ckpt, spec.name, items[0].mask, predictor=predictor)
                rows.append(_row(case, f"one-image {spec.name} curve", time.perf_counter() - start,
                                 len(spec.levels), plain, {}))
            start = time.perf_counter()
            curve = set_curve(key, items, ckpt, "noise", predictor=predictor, resamples=200)
            rows.append(_row(case, f"noise curve over {curve.n} items", time.perf_counter() - start,
                             curve.n * len(curve.strengths), plain, {"n_items": curve.n}))
    return rows

"""Explanations under test (issue 14): what the sanity check and the occlusion map cost.

For one image of a 2D case (breast ultrasound, its first network at the recipe's input
size, fresh weights: cost does not depend on what a model learned), against a baseline
measured in the same run: one plain prediction with Grad-CAM through the shared
``Predictor`` (what the Predict section pays for its heat map).

* the sanity check (:func:`medlearn.trust.sanity.sanity_check`: a private copy, five
  randomisation stages, six CAMs); target: at most 10x the plain Grad-CAM;
* MONAI occlusion sensitivity alone (49 half-overlapping patches); report;
* the whole faithfulness test (ROAD curves of the map and two random maps, occlusion); report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.common import Row, interleaved
from medlearn.cases import get_case
from medlearn.data.phantoms import generate
from medlearn.models import get_model
from medlearn.predict import Predictor
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta
from medlearn.trust.faithfulness import ClassScore, faithfulness, focus_input, occlusion
from medlearn.trust.sanity import load_subject, sanity_check

SANITY_RATIO = 10.0


def _checkpoint(case, folder: Path, input_size: int | None) -> tuple[Path, str, int]:
    arch = case.recipe.first_network
    torch.manual_seed(0)
    sizes = {"input_size": input_size} if input_size else {}
    meta = untrained_meta(case.key, arch, source="bench", **sizes)
    model = get_model(arch, in_channels=meta["in_channels"], num_classes=meta["num_classes"], spatial_dims=2,
                      width=meta["width"], input_size=meta["input_size"])
    return save_checkpoint(model, meta, folder / f"{case.key}_{arch}.safetensors"), arch, meta["input_size"]


def run(repeat: int = 3, warmup: int = 1, case: str = "breast", input_size: int | None = None,
        with_faithfulness: bool = True) -> list[Row]:
    """Rows for one image of ``case`` (``input_size`` overrides the recipe's, for a smoke run)."""
    study = get_case(case)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, arch, size = _checkpoint(study, Path(tmp), input_size)
        image = generate(study.key, n=1, seed=3, size=128)[0].image
        predictor = Predictor(device="cpu")
        subject = load_subject(study, image, str(ckpt), predictor)
        x, region, _ = focus_input(subject)
        scorer = ClassScore(subject.model, region, subject.loaded.card.temperature).eval()
        calls = {
            "gradcam": lambda: predictor.predict(study.key, image, explain="gradcam", checkpoint=ckpt),
            "sanity": lambda: sanity_check(study, image, str(ckpt), predictor=predictor),
            "occlusion": lambda: occlusion(scorer, x, subject.target),
        }
        if with_faithfulness:
            calls["faithfulness"] = lambda: faithfulness(study, image, str(ckpt), predictor=predictor)
        t = interleaved(calls, repeat=repeat, warmup=warmup)
    base = t["gradcam"].median
    label = f"{study.key} {arch} {size}px"
    rows = [Row("trust", f"{label}: one Grad-CAM (baseline)", base, "ms median",
                extra={"p95_ms": t["gradcam"].p95})]
    ratio = t["sanity"].median / base
    rows.append(_row(f"{label}: sanity check (5 stages)", t["sanity"], base, f"ratio <= {SANITY_RATIO:.0f}",
                     ratio <= SANITY_RATIO))
    rows.append(_row(f"{label}: occlusion map (MONAI)", t["occlusion"], base))
    if with_faithfulness:
        rows.append(_row(f"{label}: faithfulness test (ROAD + occlusion)", t["faithfulness"], base))
    return rows


def _row(name: str, timing, base: float, target: str = "report", ok: bool | None = None) -> Row:
    """A timing beside the plain Grad-CAM of the same run."""
    return Row("trust", name, timing.median, "ms median", baseline=base, ratio=timing.median / base,
               target=target, ok=ok, extra={"p95_ms": timing.p95})

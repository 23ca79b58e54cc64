"""Hard exudates: an IDRiD-shaped photograph (1072 x 712, IDRiD read 4x smaller), upload to answer.

Two answers the Lesions study gives, each measured beside its baseline in the same run:

* the exudate segmenter of the IDRiD recipe (U-Net at 768 px, trained on 128 px tiles, answered
  in one full-resolution pass, :mod:`medlearn.tiling`): upload -> answer + Grad-CAM through the
  cached :class:`~medlearn.predict.Predictor` against its bare forward pass (the predictor's
  target: at most 3.5x), and against the 2D target of ``bench_predict`` (150 ms median);
* the grading network's map scored against the photograph's exudates (the "Do the maps land on
  lesions?" lesson, per photograph: one or two predictor passes, the field of view, the scores)
  against the plain prediction + Grad-CAM Predict shows (ratio reported), and against the 2D target.

Weights are freshly initialised: latency does not depend on what a model learned.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from bench.common import Row, interleaved
from medlearn.data.io import read_image, save_image
from medlearn.data.phantoms import generate
from medlearn.models import get_model
from medlearn.predict import Predictor, prepare
from medlearn.tiling import whole_image_logits
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

CASE, GRADING = "retina_lesions", "retina"
TARGET_MS, RATIO = 150.0, 3.5  # bench_predict's 2D target and its ratio to the bare forward pass
SHAPE = (712, 1072)


def _checkpoint(case: str, arch: str, source: str, folder: Path, **choices) -> Path:
    torch.manual_seed(0)
    meta = untrained_meta(case, arch, source=source, **choices)
    model = get_model(arch, in_channels=meta["in_channels"], num_classes=meta["num_classes"], spatial_dims=2,
                      width=meta["width"], input_size=meta["input_size"])
    return save_checkpoint(model, meta, folder / f"{case}_{arch}_{source}.safetensors")


def _photograph(folder: Path):
    """A 712 px exudate phantom on a black 1072 x 712 canvas (IDRiD's shape), saved as the PNG a
    user would upload; returns (bytes, name, lesion mask)."""
    ph = generate(CASE, n=1, seed=3, size=SHAPE[0], n_exudates=40)[0]
    left = (SHAPE[1] - SHAPE[0]) // 2
    pixels = np.zeros(SHAPE + (3,), np.uint8)
    pixels[:, left:left + SHAPE[0]] = ph.image.pixels
    mask = np.zeros(SHAPE, np.uint8)
    mask[:, left:left + SHAPE[0]] = ph.mask
    path = folder / "exudates.png"
    save_image(ph.image.with_pixels(pixels), path)
    return path.read_bytes(), path.name, mask


def run(repeat: int = 10, warmup: int = 2, input_size: int = 768, tile: int = 128) -> list[Row]:
    from medlearn.data.fov import fov_mask
    from medlearn.trust.lesion_cam import explain_grading, score_map

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        predictor = Predictor(device="cpu")
        data, name, lesion = _photograph(folder)
        seg = _checkpoint(CASE, "unet", "idrid", folder, input_size=input_size, tile=tile)
        grading = _checkpoint(GRADING, "resnet18", "phantoms", folder)
        loaded = predictor.load(seg)
        x = prepare(read_image(data, name), loaded.card, loaded.device).x

        def answer():
            return predictor.predict(CASE, read_image(data, name), explain="gradcam", checkpoint=seg)

        def bare():
            with torch.inference_mode():
                return whole_image_logits(loaded.model, x, tile)

        def plain_grading():
            return predictor.predict(GRADING, read_image(data, name), explain="gradcam", checkpoint=grading)

        def lesson():
            image = read_image(data, name)
            pred, _ = explain_grading(image, grading, predictor=predictor)
            return score_map(pred.explanation, lesion, fov_mask(image.pixels))

        t = interleaved({"answer": answer, "bare": bare, "grading": plain_grading, "lesson": lesson},
                        repeat=repeat, warmup=warmup)
        label = f"{CASE} unet {input_size}px, trained on {tile}px tiles (idrid recipe), 1072x712 upload"
        ratio = t["answer"].median / t["bare"].median
        lesson_label = "grading resnet18 Grad-CAM scored against exudates (pointing game + energy), 1072x712"
        rows += [
            Row("lesions", f"{label}: upload->answer+CAM", t["answer"].median, "ms median",
                target=f"<= {TARGET_MS:.0f} ms (2D)", ok=t["answer"].median <= TARGET_MS,
                extra={"p95_ms": t["answer"].p95}),
            Row("lesions", f"{label}: vs bare forward", t["answer"].median, "ms median",
                baseline=t["bare"].median, ratio=ratio, target=f"ratio <= {RATIO}", ok=ratio <= RATIO),
            Row("lesions", f"{lesson_label}: per photograph", t["lesson"].median, "ms median",
                target=f"<= {TARGET_MS:.0f} ms (2D)", ok=t["lesson"].median <= TARGET_MS,
                extra={"p95_ms": t["lesson"].p95}),
            Row("lesions", f"{lesson_label}: vs Predict's answer+CAM", t["lesson"].median, "ms median",
                baseline=t["grading"].median, ratio=t["lesson"].median / t["grading"].median, target="report",
                ok=None),
        ]
    return rows

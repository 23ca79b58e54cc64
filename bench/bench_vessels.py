"""Vessel segmentation at full resolution: a CHASE_DB1-sized photograph, upload to answer.

The vessels study trains on 128 px tiles and answers the whole photograph at full resolution
(``medlearn.tiling``: one pass up to a megapixel, sliding windows beyond), so its latency grows
with the photograph, not with a network's input size. Per recipe (the phantom recipe at 512 px,
the CHASE_DB1 recipe at 960 px), each measured in the same run:

* upload -> answer + Grad-CAM through the cached :class:`~medlearn.predict.Predictor`, against
  the 2D target of ``bench_predict`` (150 ms median): met at the phantom recipe's size or not,
  reported plainly; a 960 x 960 photograph is 56 network inputs of 128 px;
* the same against ``bench_predict``'s baseline, the model's own bare answer over the
  already-prepared tensor (:func:`medlearn.tiling.whole_image_logits`, as in
  ``bench_lesions``): at most 3.5x;
* overlapping 128 px windows against that one pass: what answering in windows would cost
  (images beyond ``WHOLE_PIXELS`` still are); and the answer without explanation against the
  bare pass (the rest: reading, the familiarity features, masks back).

Weights are freshly initialised: latency does not depend on what a model learned.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.common import Row, interleaved
from medlearn.cases import get_case
from medlearn.data.io import read_image, save_image
from medlearn.data.phantoms import generate
from medlearn.models import get_model
from medlearn.predict import Predictor, prepare
from medlearn.tiling import tiled_logits, whole_image_logits
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

CASE = "retina_vessels"
TARGET_MS, RATIO = 150.0, 3.5  # bench_predict's 2D target and its ratio to the bare forward pass


def _checkpoint(arch: str, source: str, folder: Path, **choices) -> tuple[Path, dict]:
    torch.manual_seed(0)
    meta = untrained_meta(CASE, arch, source=source, **choices)
    model = get_model(arch, in_channels=meta["in_channels"], num_classes=meta["num_classes"], spatial_dims=2,
                      width=meta["width"], input_size=meta["input_size"])
    return save_checkpoint(model, meta, folder / f"{arch}_{source}.safetensors"), meta


def _upload(size: int, folder: Path) -> tuple[bytes, str]:
    """A vessel phantom of ``size`` px written as the PNG a user would upload."""
    path = folder / f"vessels_{size}.png"
    save_image(generate(CASE, n=1, seed=3, size=size)[0].image, path)
    return path.read_bytes(), path.name


def run(repeat: int = 10, warmup: int = 2, arch: str = "unet",
        recipes: tuple[tuple[str, int], ...] = (("phantoms", 512), ("chase_db1", 960))) -> list[Row]:
    rows: list[Row] = []
    case = get_case(CASE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        predictor = Predictor(device="cpu")
        for source, size in recipes:
            ckpt, meta = _checkpoint(arch, source, folder, input_size=size)
            data, name = _upload(size, folder)
            loaded = predictor.load(ckpt)
            x = prepare(read_image(data, name), loaded.card, loaded.device).x
            tile = loaded.card.preprocessing.tile

            def answer(explain="gradcam"):
                return predictor.predict(CASE, read_image(data, name), explain=explain, checkpoint=ckpt)

            def bare():  # the model's own bare answer: one pass up to a megapixel
                with torch.inference_mode():
                    return whole_image_logits(loaded.model, x, tile)

            def windows():
                with torch.inference_mode():
                    return tiled_logits(loaded.model, x, tile)

            t = interleaved({"answer": answer, "plain": lambda: answer(None), "bare": bare, "windows": windows},
                            repeat=repeat, warmup=warmup)
            label = f"{CASE} {arch} {size}px, trained on {tile}px tiles ({source} recipe)"
            ratio = t["answer"].median / t["bare"].median
            rows += [
                Row("vessels", f"{label}: upload->answer+CAM", t["answer"].median, "ms median",
                    target=f"<= {TARGET_MS:.0f} ms (2D)", ok=t["answer"].median <= TARGET_MS,
                    extra={"p95_ms": t["answer"].p95, "pixels": size * size}),
                Row("vessels", f"{label}: vs bare forward", t["answer"].median, "ms median",
                    baseline=t["bare"].median, ratio=ratio, target=f"ratio <= {RATIO}", ok=ratio <= RATIO),
                Row("vessels", f"{label}: {tile}px sliding windows / one pass", t["windows"].median, "ms median",
                    baseline=t["bare"].median, ratio=t["windows"].median / t["bare"].median, target="report"),
                Row("vessels", f"{label}: upload->answer, no explanation", t["plain"].median, "ms median",
                    baseline=t["bare"].median, ratio=t["plain"].median / t["bare"].median, target="report"),
            ]
            assert case.key == meta["case"]
    return rows

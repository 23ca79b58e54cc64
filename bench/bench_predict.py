"""Upload to answer: read the uploaded bytes, preprocess, predict and Grad-CAM.

For each case at the app's working resolution (the recipe's input size and its first
network architecture), against two baselines measured in the same run:

* a bare forward pass of the same model on the already-prepared tensor
  (target: median <= 150 ms for 2D cases, <= 300 ms for the 3D hippocampus volume, whether a
  3D network reads it whole or a 2D one slice by slice, and at most 3.5x the bare forward pass);
* the usual demo app: the same request through a model reloaded from disk on every call
  (report the ratio; MedLearn caches the model once per server).

Weights are freshly initialised: latency does not depend on what a model learned.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from bench.common import Row, interleaved
from medlearn.cases import list_cases
from medlearn.data.io import read_image, save_image
from medlearn.data.phantoms import generate
from medlearn.models import get_model
from medlearn.predict import Predictor, prepare
from medlearn.train.checkpoints import save_checkpoint
from medlearn.train.recipes import untrained_meta

THREE_D = "unet3d"
# Networks benchmarked besides each case's own: the slowest answers. Mask R-CNN reads a volume
# slice by slice (48 slices of the 48^3 upload) and explains the pasted masks of its detections.
# The lung page's Detection study: its second detector (SSDlite) besides its first (Faster R-CNN).
EXTRA = (("hippocampus", "maskrcnn", 2), ("lung_detection", "ssdlite", 2))


def _arch(case) -> tuple[str, int]:
    if case.task.spatial_dims == 3 and case.task.is_segmentation:
        return THREE_D, 3
    arch = case.recipe.first_network
    return arch, 2


def _checkpoint(case, arch: str, dims: int, folder: Path) -> Path:
    torch.manual_seed(0)
    meta = untrained_meta(case.key, arch, source="bench")
    model = get_model(arch, in_channels=meta["in_channels"], num_classes=meta["num_classes"],
                      spatial_dims=dims, width=meta["width"], input_size=meta["input_size"])
    return save_checkpoint(model, meta, folder / f"{case.key}_{arch}.safetensors")


def _upload(case, folder: Path) -> tuple[bytes, str]:
    """A phantom written as the file a user would upload (PNG for 2D, NIfTI for volumes)."""
    ph = generate(case.key, n=1, seed=3, size=128 if case.task.spatial_dims == 2 else 48)[0]
    name = f"{case.key}.png" if ph.image.spatial_dims == 2 else f"{case.key}.nii.gz"
    path = folder / name
    save_image(ph.image, path)
    return path.read_bytes(), name


def _pairs(cases: tuple[str, ...] | None) -> list[tuple[object, str, int]]:
    """``(case, arch, dims)`` to benchmark: each case's own network, then :data:`EXTRA`."""
    chosen = [c for c in list_cases(studies=True) if cases is None or c.key in cases]
    pairs = [(case, *_arch(case)) for case in chosen]
    return pairs + [(case, arch, dims) for key, arch, dims in EXTRA for case in chosen if case.key == key]


def run(repeat: int = 20, cases: tuple[str, ...] | None = None) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cached = Predictor(device="cpu")
        for case, arch, dims in _pairs(cases):
            ckpt = _checkpoint(case, arch, dims, folder)
            data, name = _upload(case, folder)
            loaded = cached.load(ckpt)
            x = prepare(read_image(data, name), loaded.card, loaded.device).x

            def answer(p=cached):
                return p.predict(case.key, read_image(data, name), explain="gradcam", checkpoint=ckpt)

            def bare():
                with torch.inference_mode():
                    return loaded.model(x)

            def reload():  # what many demo apps do: load the model inside the request
                return Predictor(device="cpu").predict(case.key, read_image(data, name), explain="gradcam",
                                                      checkpoint=ckpt)

            t = interleaved({"answer": answer, "bare": bare, "reload": reload}, repeat=repeat)
            volume = dims == 3 or (case.task.spatial_dims == 3 and case.task.is_segmentation)  # every slice read
            limit = 300.0 if volume else 150.0
            ratio = t["answer"].median / t["bare"].median
            slices = " slices" if dims == 2 and case.task.spatial_dims == 3 else ""
            label = f"{case.key} {arch} {case.recipe.input_size}{'^3' if dims == 3 else 'px'}{slices}"
            rows.append(Row("predict", f"{label}: upload->answer+CAM", t["answer"].median, "ms median",
                            target=f"<= {limit:.0f} ms", ok=t["answer"].median <= limit,
                            extra={"p95_ms": t["answer"].p95}))
            rows.append(Row("predict", f"{label}: vs bare forward", t["answer"].median, "ms median",
                            baseline=t["bare"].median, ratio=ratio, target="ratio <= 3.5", ok=ratio <= 3.5))
            rows.append(Row("predict", f"{label}: reload-per-call / cached", t["reload"].median, "ms median",
                            baseline=t["answer"].median, ratio=t["reload"].median / t["answer"].median,
                            target="report", ok=None))
    return rows

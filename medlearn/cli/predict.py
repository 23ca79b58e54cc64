"""``python -m medlearn predict CASE PATH``: classify or segment one image, with its explanation.

Prints the answer (``--json`` for a machine-readable object) and writes the mask and
the explanation into ``--out`` (default: a new folder under ``<data home>/predictions``):
2D as PNG (the explanation as a heat map over the image), 3D as NIfTI with the image's
spacing. A missing model or a bad file ends with an ``error:`` line and exit status 2.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from medlearn.data.image import MedImage


def add_parser(sub):
    p = sub.add_parser("predict", help="predict one image with a trained model (and explain it)")
    p.add_argument("case", help="case key, e.g. breast (see: python -m medlearn cases)")
    p.add_argument("path", help="image file or folder (PNG, JPEG, TIFF, DICOM, NIfTI, .npy)")
    p.add_argument("--arch", default=None, help="architecture (default: the best trained model of the case)")
    p.add_argument("--explain", default="gradcam", help="gradcam, gradcam++, eigencam, scorecam (slow) or none")
    p.add_argument("--checkpoint", default=None, help="use this .safetensors checkpoint")
    p.add_argument("--out", default=None, help="folder for the mask and explanation files")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def _out_dir(out: str | None) -> Path:
    if out:
        path = Path(out).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    from medlearn.data.home import data_home

    root = data_home() / "predictions"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="predict-", dir=root))


def save_outputs(pred, image: MedImage, out: Path) -> dict[str, str]:
    """Write the mask and the explanation; returns their paths by key."""
    from medlearn.data.io import save_image, save_mask
    from medlearn.explain import heatmap_overlay

    stem = Path(image.source or "image").name.split(".")[0] or "image"
    ext = ".png" if image.spatial_dims == 2 else ".nii.gz"
    paths: dict[str, str] = {}
    if pred.mask is not None:
        paths["mask_path"] = str(save_mask(pred.mask, image.spacing, out / f"{stem}_mask{ext}"))
    if pred.explanation is not None:
        if image.spatial_dims == 2:
            picture = MedImage(heatmap_overlay(image, pred.explanation), modality="OT", source="explanation")
        else:
            picture = MedImage(pred.explanation, spacing=image.spacing, modality=image.modality,
                               orientation=image.orientation, source="explanation")
        paths["explanation_path"] = str(save_image(picture, out / f"{stem}_{pred.explain_method}{ext}"))
    return paths


def run(args) -> int:
    from medlearn.data.io import read_image
    from medlearn.predict import predict

    image = read_image(args.path)
    pred = predict(args.case, image, arch=args.arch, explain=args.explain, checkpoint=args.checkpoint)
    paths = save_outputs(pred, image, _out_dir(args.out))
    row = pred.summary()
    if row["probabilities"] is None:
        row.pop("probabilities")
    row.update(paths)
    row.setdefault("explanation_path", None)
    if args.json:
        print(json.dumps(row, indent=2))
        return 0
    print(f"{pred.case}: {pred.prediction}  ({pred.arch}, {pred.latency_ms:.0f} ms)")
    for name, p in (pred.probabilities or {}).items():
        print(f"  {name:<24} {p:.3f}")
    for name, value in pred.measurements.items():
        print(f"  {name:<32} {value:.1f}")
    for key, path in paths.items():
        print(f"  {key}: {path}")
    for note in pred.notes:
        print(f"  note: {note}")
    print(f"  weights: {pred.weights_note}")
    print(f"  {pred.disclaimer}")
    return 0

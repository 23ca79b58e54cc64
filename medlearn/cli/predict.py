"""``python -m medlearn predict CASE PATH``: classify or segment one image, with its explanation.

Prints the answer (``--json`` for a machine-readable object) and writes the mask and
the explanation into ``--out`` (default: a new folder under ``<data home>/predictions``):
2D as PNG (the explanation as a heat map over the image), 3D as NIfTI with the image's
spacing. A missing model or a bad file ends with an ``error:`` line and exit status 2.

A folder or zip of separate pictures is a batch (:mod:`medlearn.batch`; one DICOM series
stays one image): one line per file, text or JSON Lines (``--json``: one object per
image, or ``{"file", "error"}`` for a file that could not be read), then a summary (text
only). A bad file does not stop the batch; the exit status is 1 when any file failed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from medlearn.data.image import MedImage


def add_parser(sub):
    p = sub.add_parser("predict", help="predict one image with a trained model (and explain it)")
    p.add_argument("case", help="case key, e.g. breast (see: python -m medlearn cases)")
    p.add_argument("path", help="image file (PNG, JPEG, TIFF, DICOM, NIfTI, .npy), or a folder or zip: one "
                                "DICOM series is one image, separate pictures are predicted file by file")
    p.add_argument("--arch", default=None, help="architecture (default: the best trained model of the case)")
    p.add_argument("--explain", default="gradcam", help="gradcam, gradcam++, eigencam, scorecam (slow) or none")
    p.add_argument("--checkpoint", default=None, help="use this .safetensors checkpoint")
    p.add_argument("--out", default=None, help="folder for the mask and explanation files")
    p.add_argument("--json", action="store_true",
                   help="print JSON instead of text (a batch: one JSON line per file)")
    p.add_argument("--ed-phase", type=int, default=None, metavar="N",
                   help="cardiac cine: the end-diastolic phase (from 0; default: the largest LV cavity)")
    p.add_argument("--es-phase", type=int, default=None, metavar="N",
                   help="cardiac cine: the end-systolic phase (from 0; default: the smallest LV cavity)")
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
        paths["mask_path"] = str(save_mask(pred.mask, image, out / f"{stem}_mask{ext}"))  # image's affine
    if pred.explanation is not None:
        if image.spatial_dims == 2:
            picture = MedImage(heatmap_overlay(image, pred.explanation), modality="OT", source="explanation")
        else:
            # the image's geometry (spacing, affine, file axis order) so the map overlays it
            picture = image.with_pixels(pred.explanation, source="explanation", window=None, windows=())
        paths["explanation_path"] = str(save_image(picture, out / f"{stem}_{pred.explain_method}{ext}"))
    return paths


def run(args) -> int:
    from medlearn.batch import batch_inputs
    from medlearn.data.io import read_image
    from medlearn.predict import predict

    inputs = batch_inputs(args.path)
    if inputs is not None:  # a folder or zip of separate images
        return run_batch(args, inputs)
    from medlearn.cli.predict_cine import run_cine

    status = run_cine(args)  # a multi-phase cardiac cine: EDV, ESV, EF; None for anything else
    if status is not None:
        return status
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
    if pred.warning:
        print(f"  warning: {pred.warning}")
    if pred.familiarity is not None and pred.familiarity.level != "typical":
        print(f"  {pred.familiarity.level}: {pred.familiarity.words}")
    for name, p in (pred.probabilities or {}).items():
        print(f"  {name:<24} {p:.3f}")
    for name, value in pred.measurements.items():
        print(f"  {name:<32} {value:.1f}")
    for key, path in paths.items():
        print(plain(f"  {key}: {path}"))  # paths hold the user's file name
    for note in pred.notes:
        print(f"  note: {note}")
    print(f"  weights: {pred.weights_note}")
    print(f"  {pred.disclaimer}")
    return 0


def plain(text: str) -> str:
    """User text (file names) as plain text on a terminal (:func:`medlearn.text.visible`)."""
    from medlearn.text import visible

    return visible(text, limit=10_000)


def _json_ready(value):
    """JSON has no NaN: an undefined number becomes null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _stem(name: str) -> str:
    return name.split(".")[0] or "image"


def run_batch(args, inputs) -> int:
    """Predict every input of a folder or zip (see :mod:`medlearn.batch`) with one model.

    One line per input (text, or a JSON object with ``--json``), written as it is done;
    a file that cannot be read or predicted gets an ``error`` and the batch goes on.
    Text output ends with a summary. Returns 1 when any file failed, else 0.
    """
    from collections import Counter

    from medlearn.cases import get_case
    from medlearn.errors import MedlearnInputError
    from medlearn.predict import check_model, default_predictor

    predictor = default_predictor()
    study = get_case(args.case)
    checkpoint = args.checkpoint or predictor.find_checkpoint(study, args.arch)  # one model for every file
    check_model(predictor.load(checkpoint), study)  # a missing, damaged or other case's model stops here
    out = _out_dir(args.out)
    stems = Counter(_stem(item.files[0]) for item in inputs)
    answers: Counter = Counter()
    failed, last = 0, None
    for index, item in enumerate(inputs, 1):
        row: dict = {"file": item.name}
        if len(item.files) > 1:
            row["files"] = list(item.files)
        try:
            image = item.read()
            pred = predictor.predict(study.key, image, arch=args.arch, explain=args.explain,
                                     checkpoint=checkpoint)
        except MedlearnInputError as exc:  # this file only
            failed += 1
            row["error"] = str(exc)
        else:
            # files with the same stem (scan.png, scan.jpg) get folders of their own
            folder = out if stems[_stem(item.files[0])] == 1 else out / f"{index:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            summary = pred.summary()
            if summary["probabilities"] is None:
                summary.pop("probabilities")
            row.update(summary)
            row.update(save_outputs(pred, image, folder))
            row.setdefault("explanation_path", None)
            answers[pred.prediction] += 1
            last = pred
        if args.json:
            print(json.dumps(_json_ready(row)), flush=True)
        else:
            print(plain(_batch_line(row)), flush=True)
    if not args.json:
        done = len(inputs) - failed
        counts = ", ".join(f"{name} {n}" for name, n in answers.most_common())
        print(f"{len(inputs)} file(s): {done} predicted" + (f" ({counts})" if counts else "")
              + f", {failed} could not be read or predicted")
        print(plain(f"outputs: {out}"))
        if last is not None:
            print(f"weights: {last.weights_note}")
            print(last.disclaimer)
    return 1 if failed else 0


def _batch_line(row: dict) -> str:
    """One text line for one input of a batch."""
    if "error" in row:
        return f"{row['file']}: error: {row['error']}"
    answer = f"{row['file']}: {row['prediction']}"
    probabilities = row.get("probabilities") or {}
    if row.get("prediction") in probabilities:
        answer += f" ({probabilities[row['prediction']]:.3f})"
    measures = [f"{k} {v:.1f}" for k, v in (row.get("measurements") or {}).items()
                if isinstance(v, (int, float))]
    if measures:
        answer += "  " + ", ".join(measures)
    if row.get("mask_path"):
        answer += f"  mask: {row['mask_path']}"
    return answer

"""``python -m medlearn phantom CASE``: write synthetic cases as ordinary files.

Layout of ``--out DIR`` (read back by ``python -m medlearn info`` and the folder source)::

    DIR/images/<id>.png | <id>.nii.gz      the image (2D PNG, 3D NIfTI)
    DIR/masks/<id>_mask.png | .nii.gz      the integer mask (values index class names)
    DIR/labels.csv                         id, file, mask, label, label_name (paths relative to DIR)
    DIR/params.json                        {id: every generative parameter}
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from medlearn.errors import MedlearnInputError

FIELDS = ("id", "file", "mask", "label", "label_name")


def add_parser(sub):
    p = sub.add_parser("phantom", help="write synthetic phantoms (images, masks, labels.csv, params.json)")
    p.add_argument("case", help="case key, e.g. retina, breast, lung, hippocampus, heart, gastric")
    p.add_argument("--n", type=int, default=10, help="number of phantoms (default 10)")
    p.add_argument("--seed", type=int, default=0, help="base seed (same seed, same files)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--difficulty", type=float, default=0.5, help="0 easy ... 1 hard (default 0.5)")
    p.add_argument("--size", type=int, default=None, help="pixels per side (default: the case's)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a generative parameter (repeatable), e.g. --param grade=2")
    return p


def _parse_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise MedlearnInputError(f"--param expects NAME=VALUE, got {item!r}.")
        try:
            number = float(value)
            params[name.strip()] = int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            params[name.strip()] = value
    return params


def _json_ready(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_phantoms(case: str, out: str | Path, n: int = 10, seed: int = 0, difficulty: float = 0.5,
                   size: int | None = None, **params) -> list[dict]:
    """Generate ``n`` phantoms and write them under ``out`` (see module doc); returns the rows."""
    import numpy as np

    from medlearn.cases import get_case
    from medlearn.data.io import save_image, save_mask
    from medlearn.data.phantoms import generate

    class_names = get_case(case).task.class_names
    phantoms = generate(case, n, seed=seed, difficulty=difficulty, size=size, **params)
    out = Path(out)
    rows, all_params = [], {}
    for ph in phantoms:
        pid = f"{case}_s{seed}_{ph.params['index']:04d}"
        ext = ".png" if ph.image.spatial_dims == 2 else ".nii.gz"
        file, mask = f"images/{pid}{ext}", ""
        save_image(ph.image, out / file)
        if ph.mask is not None:
            mask = f"masks/{pid}_mask{ext}"
            save_mask(ph.mask.astype(np.uint8), ph.image, out / mask)  # the image's geometry: they overlay
        label = "" if ph.label is None else int(ph.label)
        rows.append({"id": pid, "file": file, "mask": mask, "label": label,
                     "label_name": "" if ph.label is None else class_names[ph.label]})
        all_params[pid] = ph.params
    try:
        with open(out / "labels.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        (out / "params.json").write_text(json.dumps(all_params, indent=1, default=_json_ready))
    except OSError as exc:
        raise MedlearnInputError(f"Cannot write into {str(out)!r}: {exc.strerror or exc}.") from exc
    return rows


def run(args) -> int:
    rows = write_phantoms(args.case, args.out, n=args.n, seed=args.seed, difficulty=args.difficulty,
                          size=args.size, **_parse_params(args.param))
    print(f"wrote {len(rows)} {args.case} phantoms to {args.out} (images/, masks/, labels.csv, params.json)")
    return 0

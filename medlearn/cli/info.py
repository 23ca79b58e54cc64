"""``python -m medlearn info PATH [PATH...]``: what MedLearn reads from an image file.

One path: a file, or a folder (its files form a DICOM series, or it holds one image).
Several paths: the files of one DICOM series. Prints ``image.describe()`` as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("info", help="describe a medical image file (shape, spacing, window, ...)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="an image file, a folder, or the files of a series")
    p.add_argument("--volume", type=int, default=None, metavar="N",
                   help="which volume of a 4D NIfTI, item of an .npz, or phase of a DICOM cine (from 0)")
    return p


def run(args) -> int:
    from medlearn.data.io import read_image

    source = args.paths[0] if len(args.paths) == 1 else [Path(p) for p in args.paths]
    image = read_image(source, volume_index=args.volume)
    print(json.dumps(image.describe(), indent=2))
    return 0

"""``python -m medlearn predict heart CINE``: EDV, ESV, SV and EF from a whole cardiac cine.

Called first by :func:`medlearn.cli.predict.run`. For a case that measures EF and a
folder or zip holding a multi-phase DICOM cine, every phase is segmented by the trained
model (``medlearn.predict``, no heat map: ``--explain`` is not used), end-diastole and end-systole are found from
the cavity volume curve (or taken from ``--ed-phase`` / ``--es-phase``) and
:func:`medlearn.cine.cardiac_function` measures the ventricle. The ED and ES masks are
written to ``--out`` as NIfTI. Any other input returns ``None``: the single-image answer.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import numpy as np

from medlearn.errors import MedlearnInputError

_PICKED = "--ed-phase and --es-phase pick phases of a cardiac cine (a folder or zip of DICOM files)"


def _cine_path(args) -> Path | None:
    path = args.path[0] if isinstance(args.path, (list, tuple)) and len(args.path) == 1 else args.path
    if not isinstance(path, (str, Path)):
        return None
    path = Path(path).expanduser()
    return path if path.is_dir() or (path.is_file() and zipfile.is_zipfile(path)) else None


def run_cine(args) -> int | None:
    """Answer a multi-phase cine and return the exit status, or None for a single image."""
    from medlearn.cases import get_case
    from medlearn.data.io.cine import read_cine

    picked = getattr(args, "ed_phase", None) is not None or getattr(args, "es_phase", None) is not None
    case = get_case(args.case)
    if "ef_percent" not in case.measurements:
        if picked:
            raise MedlearnInputError(f"{_PICKED}; the {case.title} case measures no ejection fraction.")
        return None
    path = _cine_path(args)
    if path is None:
        if picked:
            raise MedlearnInputError(f"{_PICKED}; {Path(str(args.path)).name} is a single file.")
        return None
    cine = read_cine(path)
    if cine.n_phases < 2 and not picked:
        return None  # one phase: today's single-volume answer
    return _answer(args, case, cine)


def _answer(args, case, cine) -> int:
    from medlearn import clinical
    from medlearn.cine import ModelSegmenter, cardiac_function
    from medlearn.cli.predict import _out_dir, plain
    from medlearn.data.io import save_mask
    from medlearn.predict import DISCLAIMER

    start = time.perf_counter()
    segment = ModelSegmenter(case.key, arch=args.arch, checkpoint=args.checkpoint)
    result = cardiac_function(cine, segment, ed=args.ed_phase, es=args.es_phase)
    latency_ms = (time.perf_counter() - start) * 1000
    out = _out_dir(args.out)
    stem = Path(str(cine.source) or "cine").name.split(".")[0] or "cine"
    # each mask with its phase's geometry (spacing, position), so it overlays that phase
    paths = {f"{which}_mask_path": str(save_mask(result.masks[t], cine.phases[t], out / f"{stem}_{which}_mask.nii.gz"))
             for which, t in (("ed", result.ed_phase), ("es", result.es_phase))}
    first = segment.predictions[0]
    # Each phase's own answer says its volumes are of one phase only: the cine answer supersedes that.
    flat = np.zeros((2, 2, 2), np.uint8)
    one_phase = set(clinical.measure(case.measurements, flat, flat, (1.0, 1.0, 1.0))[1])
    model_notes = [n for n in dict.fromkeys(n for p in segment.predictions for n in p.notes) if n not in one_phase]
    notes = [*result.notes, *model_notes]
    row = {"case": case.key, "arch": first.arch, "prediction": "cine", "measurements": result.measurements(),
           **result.summary(), "cine": cine.summary(), "notes": notes, **paths,
           "latency_ms": round(latency_ms, 2), "weights_note": first.weights_note, "checkpoint": first.checkpoint,
           "warning": first.warning, "disclaimer": DISCLAIMER}
    if args.json:
        print(json.dumps(row, indent=2))
        return 0
    _print(case, cine, result, first, latency_ms, paths, notes, plain)
    return 0


def _print(case, cine, result, first, latency_ms: float, paths: dict[str, str], notes: list[str], plain) -> None:
    """The answer as text; ``plain`` escapes control characters in user text (paths, notes)."""
    z = cine.phases[0].spatial_shape[0]
    print(f"{case.key}: cine of {cine.n_phases} phases at {z} slice positions  ({first.arch}, {latency_ms:.0f} ms)")
    if first.warning:
        print(f"  warning: {first.warning}")
    labels = (("edv_ml", "EDV (ml)"), ("esv_ml", "ESV (ml)"), ("stroke_volume_ml", "stroke volume (ml)"),
              ("ef_percent", "EF (%)"), ("myocardial_mass_g", "myocardial mass (g)"))
    values = result.measurements()
    for key, label in labels:
        print(f"  {label:<24} {values[key]:.1f}")
    print(f"  end-diastole: phase {result.ed_phase} ({result.ed_reason})")
    print(f"  end-systole:  phase {result.es_phase} ({result.es_reason})")
    print("  phase  trigger (ms)  LV cavity (ml)")
    marks = {result.ed_phase: "ED", result.es_phase: "ES"}
    for t, volume in enumerate(result.cavity_volumes_ml):
        when = result.trigger_time(t)
        print(f"  {t:>5}  {'-' if when is None else f'{when:.0f}':>12}  {volume:>14.1f}  {marks.get(t, '')}".rstrip())
    for key, path in paths.items():
        print(plain(f"  {key}: {path}"))
    for note in notes:
        print(plain(f"  note: {note}"))
    print(f"  weights: {first.weights_note}")
    print(f"  {first.disclaimer}")

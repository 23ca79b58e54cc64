"""Putting the files of a DICOM series in order: which series, which slices, which phase.

1. Files may mix series (a whole study in one folder): the series with most files wins.
2. Slices are sorted by ImagePositionPatient projected on the slice normal; without
   positions, by InstanceNumber; without those, in the order given.
3. Files at the same position are cine phases: each position must hold the same number,
   sorted by TriggerTime, and ``volume_index`` picks the phase (default 0).
4. Slice spacing is the median gap between consecutive positions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset

from medlearn.data.io import dicom_header as hdr
from medlearn.data.io.limits import pick_index
from medlearn.errors import MedlearnInputError

SAME_POSITION_MM = 0.01
"""Slices closer than this along the normal count as the same position (cine phases)."""


@dataclass
class Plan:
    """The chosen slices, in order, and the geometry they imply."""

    slices: list[Dataset]
    slice_spacing: float | None = None
    orientation: str = "ZYX"
    rescaled: bool = False
    meta: dict = field(default_factory=dict)


def _largest_series(dss: list[Dataset], meta: dict) -> list[Dataset]:
    counts = Counter(str(d.get("SeriesInstanceUID", "")) for d in dss)
    if len(counts) > 1:
        meta["series_found"] = len(counts)
        meta["note"] = "several series were given; showing the one with most files"
        uid = counts.most_common(1)[0][0]
        return [d for d in dss if str(d.get("SeriesInstanceUID", "")) == uid]
    return dss


def _groups(pos: np.ndarray) -> list[list[int]]:
    groups: list[list[int]] = []
    for i in np.argsort(pos, kind="stable"):
        if groups and abs(pos[i] - pos[groups[-1][0]]) < SAME_POSITION_MM:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return groups


def _phase_key(ds: Dataset) -> tuple[float, int]:
    return float(ds.get("TriggerTime") or 0.0), int(ds.get("InstanceNumber") or 0)


def position_groups(dss: list[Dataset], cos: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Where each file lies along the slice normal, and the files at each position.

    Args:
        dss: datasets that all have ImagePositionPatient.
        cos: their direction cosines (row, column, normal) from ``orientation_cosines``.

    Returns:
        ``(pos, groups)``: ``pos[i]`` in mm along the normal; ``groups`` lists the indices
        into ``dss`` at each position, positions in increasing order, each group in cine
        phase order (TriggerTime, then InstanceNumber).
    """
    pos = np.array([float(np.dot(cos[2], np.asarray(d.ImagePositionPatient, float))) for d in dss])
    return pos, [sorted(g, key=lambda i: _phase_key(dss[i])) for g in _groups(pos)]


def _by_position(dss, cos, volume_index, label, plan: Plan) -> None:
    pos, groups = position_groups(dss, cos)
    counts = sorted({len(g) for g in groups})
    if len(counts) > 1:
        raise MedlearnInputError(
            f"{label}: the slice positions hold uneven numbers of files ({counts[0]} to {counts[-1]}), "
            "so they are not one volume or one cine; give a complete series."
        )
    phases = counts[0]
    t = pick_index(volume_index, phases, "phase", label)
    chosen = [g[t] for g in groups]
    plan.slices = [dss[i] for i in chosen]
    plan.orientation = hdr.axis_codes(cos)
    plan.meta.update(slices=len(chosen), sorted_by="ImagePositionPatient")
    if phases > 1:
        plan.meta.update(phases=phases, phase_index=t, note=f"cine: showing phase {t} of {phases}")
        plan.meta["trigger_times_ms"] = [float(dss[i].get("TriggerTime") or 0.0) for i in chosen]
    gaps = np.diff(pos[chosen])
    if len(gaps) and float(np.median(gaps)) > 0:
        plan.slice_spacing = float(np.median(gaps))
        if float(gaps.max() - gaps.min()) > 0.1 * plan.slice_spacing:
            plan.meta["uneven_slice_spacing"] = True


def arrange(dss: list[Dataset], volume_index: int | None, label: str) -> Plan:
    """Choose and order the slices of a series (see module doc).

    Args:
        dss: parsed DICOM datasets (pixels not decoded).
        volume_index: the cine phase to show (default 0).
        label: name of the input, for messages.
    """
    plan = Plan(slices=[])
    dss = _largest_series(dss, plan.meta)
    cos = hdr.orientation_cosines(dss[0])
    if cos is not None and all("ImagePositionPatient" in d for d in dss):
        _by_position(dss, cos, volume_index, label, plan)
    else:
        pick_index(volume_index, 1, "phase", label)
        numbered = all(d.get("InstanceNumber") is not None for d in dss)
        plan.slices = sorted(dss, key=lambda d: int(d.InstanceNumber)) if numbered else list(dss)
        plan.meta.update(slices=len(dss), sorted_by="InstanceNumber" if numbered else "file order")
    plan.rescaled = any(hdr.rescale(d) != (1.0, 0.0) or "ModalityLUTSequence" in d for d in plan.slices)
    return plan

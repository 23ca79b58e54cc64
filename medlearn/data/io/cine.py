"""Every phase of a cardiac cine: a DICOM series whose slice positions each hold several frames.

``read_image`` shows one phase of a cine (``volume_index``); :func:`read_cine` reads them
all. Files are grouped as the series reader groups them
(:func:`~medlearn.data.io.series.position_groups`: position along the slice normal, then
TriggerTime within a position), and phase ``t`` is the ``t``-th frame of every position,
stacked by the series reader (:func:`~medlearn.data.io.dicom.read_series`), so it is the
volume ``read_image(source, volume_index=t)`` gives, with the same geometry.

Real cines are not always complete: a position may hold fewer (or more) frames than the
others. The positions holding the most common number of frames are used; the others are
left out and the notes say which (by position along the normal, in mm).

Slice spacing is the gap between slice positions (the median gap), not SliceThickness: a
stack of 8 mm slices with 2 mm gaps has 10 mm spacing, and the notes say when they differ.
Trigger times may differ between positions for the same phase (each position is acquired in
its own breath-hold); ``trigger_times_ms`` is the median over positions.

Inputs that are not a multi-phase series (one file, a NIfTI, a series without slice
positions, one frame per position) give a one-phase :class:`CineSeries` read by
``read_image``, so its errors and its answer are exactly ``read_image``'s.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from medlearn.data.image import MedImage
from medlearn.data.io import dicom_header as hdr
from medlearn.data.io.archive import member_names, unzip
from medlearn.data.io.detect import HEAD_BYTES, sniff
from medlearn.data.io.dicom import parse, read_series
from medlearn.data.io.limits import check_shape
from medlearn.data.io.library_notes import as_notes
from medlearn.data.io.read import read_image, reading
from medlearn.data.io.series import _largest_series, position_groups
from medlearn.data.io.source import Blob, to_blobs
from medlearn.errors import MedlearnError, MedlearnInputError

UNEVEN_GAP = 0.1
"""Slice gaps differing by more than this fraction of the median gap are called uneven."""

TRIGGER_SPREAD_MS = 20.0
"""Trigger times of one phase differing by more than this between positions get a note."""


@dataclass
class CineSeries:
    """All phases of a short-axis cine.

    Attributes:
        phases: one MedImage per phase, in phase order (TriggerTime); each ``(Z, Y, X)``
            over the same slice positions (a one-phase input may be 2D).
        trigger_times_ms: per phase, the median TriggerTime over positions (None when the
            header has none).
        positions_mm: the slice positions used, along the slice normal, in increasing order.
        positions_left_out: ``(position in mm, files there)`` for positions not used.
        files: the file names of each phase, in slice order (``files[t][z]``).
        notes: what was read and what was left out, in words.
        source: how the input is named in messages.
    """

    phases: list[MedImage]
    trigger_times_ms: list[float] | None = None
    positions_mm: list[float] = field(default_factory=list)
    positions_left_out: list[tuple[float, int]] = field(default_factory=list)
    files: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def n_phases(self) -> int:
        return len(self.phases)

    @property
    def slice_spacing_mm(self) -> float | None:
        """The slice spacing the phases carry (median gap between positions), if 3D."""
        first = self.phases[0]
        return first.spacing[0] if first.spatial_dims == 3 else None

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (no pixels)."""
        return {
            "source": self.source,
            "phases": self.n_phases,
            "shape": list(self.phases[0].shape),
            "spacing_mm": list(self.phases[0].spacing),
            "trigger_times_ms": self.trigger_times_ms,
            "positions_mm": [round(p, 3) for p in self.positions_mm],
            "positions_left_out": [{"position_mm": round(p, 3), "files": n} for p, n in self.positions_left_out],
            "notes": list(self.notes),
        }


def read_cine(source: Any, name: str | None = None) -> CineSeries:
    """Read every phase of a cine from what ``read_image`` accepts for a series.

    Args:
        source: a folder, a zip (path or bytes), or a list of files / ``(name, bytes)``
            pairs; a single image file gives a one-phase cine.
        name: file name for ``bytes`` input.

    Returns:
        A :class:`CineSeries` (see the module doc for how phases and positions are chosen).

    Raises:
        MedlearnInputError: unreadable input, or a cine with fewer than two complete slice positions.
    """
    label = _label(source, name)
    with reading() as heard:  # the libraries' warnings (odd header values) become notes
        cine = _read_all(source, name, label)
    told = cine.phases[0].meta.get("notes", [])  # a one-phase input: read_image noted them already
    cine.notes += [note for note in as_notes(heard) if note not in told]
    return cine


def _read_all(source: Any, name: str | None, label: str) -> CineSeries:
    try:
        blobs = to_blobs(source, name)
    except OSError as exc:
        raise MedlearnInputError(f"{label}: the file cannot be opened ({exc.strerror or exc}).") from exc
    try:
        return _read(source, name, blobs, label)
    except MedlearnError:
        raise
    except MemoryError as exc:
        raise MedlearnInputError(f"{label}: the cine is too large for this computer's memory.") from exc
    except Exception as exc:  # any library failure on a bad file becomes one clear message
        raise MedlearnInputError(
            f"{label}: the files could not be read; they look damaged or truncated ({type(exc).__name__})."
        ) from exc


def _label(source: Any, name: str | None) -> str:
    """How messages name the input (as ``read_image`` names it)."""
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    if isinstance(source, (list, tuple)):
        return f"{len(source)} files"
    return str(getattr(source, "name", None) or "the upload")


def _one_phase(source: Any, name: str | None, label: str, why: str | None = None) -> CineSeries:
    image = read_image(source, name)
    notes = [f"One phase only: {why}." if why else "One phase only."]
    times = image.meta.get("trigger_times_ms")
    return CineSeries([image], [float(np.median(times))] if times else None, notes=notes, source=label)


def _series_blobs(blobs: list[Blob]) -> list[Blob] | None:
    """The files of a series: several files, or the members of one zip of DICOM files."""
    if len(blobs) > 1:
        return blobs
    head = blobs[0].head(HEAD_BYTES)
    if sniff(head) == "zip" and not any(n.endswith(".npy") for n in member_names(blobs[0])):
        return unzip(blobs[0])
    return None


def _parsed(blobs: list[Blob]) -> list[tuple[Blob, Dataset]]:
    out = []
    for blob in blobs:
        if sniff(blob.head(HEAD_BYTES)) != "dicom":
            continue
        try:
            out.append((blob, parse(blob)))
        except MedlearnInputError:
            continue  # read_series skips unreadable members too
    return out


def _read(source: Any, name: str | None, blobs: list[Blob], label: str) -> CineSeries:
    files = _series_blobs(blobs)
    if files is None:
        return _one_phase(source, name, label, "a single file holds one frame per slice")
    pairs = _parsed(files)
    if not pairs:
        return _one_phase(source, name, label)  # read_image says why nothing is DICOM
    meta: dict[str, Any] = {}
    chosen = {id(d) for d in _largest_series([d for _, d in pairs], meta)}
    skipped = len(files) - len(pairs)
    pairs = [(b, d) for b, d in pairs if id(d) in chosen]
    notes = [f"{meta['series_found']} series were given; using the one with most files."] if meta else []
    if skipped:
        notes.append(f"{skipped} of the {len(files)} files are not readable DICOM images and were skipped.")
    dss = [d for _, d in pairs]
    cos = hdr.orientation_cosines(dss[0])
    if cos is None or not all("ImagePositionPatient" in d for d in dss):
        return _one_phase(source, name, label, "without slice positions (ImagePositionPatient) the files "
                                               "cannot be told apart into phases")
    pos, groups = position_groups(dss, cos)
    counts = Counter(len(g) for g in groups)
    frames = max(counts, key=lambda n: (counts[n], n))  # the most common count; ties: more phases
    if frames == 1:
        return _one_phase(source, name, label, "each slice position holds one frame")
    used = [g for g in groups if len(g) == frames]
    left_out = [(float(pos[g[0]]), len(g)) for g in groups if len(g) != frames]
    if len(used) < 2:
        raise MedlearnInputError(
            f"{label}: only one slice position holds all {frames} frames; volumes need a stack of "
            "short-axis slices (two positions or more)."
        )
    rows, cols = int(dss[0].Rows), int(dss[0].Columns)
    check_shape((frames, len(used), rows, cols), label, spatial_dims=4)
    phases = []
    for t in range(frames):
        image = read_series([pairs[g[t]][0] for g in used], None, f"{label} (phase {t} of {frames})")
        image.meta.update(phase_index=t, phases=frames)
        phases.append(image)
    positions = [float(pos[g[0]]) for g in used]
    notes += _position_notes(positions, left_out, frames, len(groups))
    times, more = _trigger_times(dss, used)
    files = [[pairs[g[t]][0].name for g in used] for t in range(frames)]
    return CineSeries(phases, times, positions, left_out, files, notes + more, label)


def _position_notes(positions: list[float], left_out: list[tuple[float, int]], frames: int,
                    total: int) -> list[str]:
    notes = [f"{frames} phases at {len(positions)} slice positions "
             f"({positions[0]:.1f} to {positions[-1]:.1f} mm along the slice normal)."]
    if left_out:
        where = "; ".join(f"{p:.1f} mm ({n} file{'s' if n != 1 else ''})" for p, n in left_out)
        notes.append(f"Left out {len(left_out)} of {total} slice positions, which do not hold {frames} "
                     f"frames: {where}.")
    gaps = np.diff(positions)
    median = float(np.median(gaps))
    if float(gaps.max() - gaps.min()) > UNEVEN_GAP * median:
        notes.append(f"Slice gaps are uneven ({gaps.min():.1f} to {gaps.max():.1f} mm); volumes use the "
                     f"median gap, {median:.1f} mm.")
    return notes


def _trigger_times(dss: list[Dataset], used: list[list[int]]) -> tuple[list[float] | None, list[str]]:
    """Median trigger time per phase over positions, and a note when positions disagree."""
    if not all(dss[g[t]].get("TriggerTime") not in (None, "") for g in used for t in range(len(g))):
        return None, ["The files carry no TriggerTime: phases are in InstanceNumber order."]
    table = np.array([[float(dss[g[t]].TriggerTime) for t in range(len(g))] for g in used])  # (positions, phases)
    spread = table.max(axis=0) - table.min(axis=0)
    notes = []
    if float(spread.max()) > TRIGGER_SPREAD_MS:
        t = int(spread.argmax())
        notes.append(f"Trigger times of one phase differ between slice positions (phase {t}: "
                     f"{table[:, t].min():.0f} to {table[:, t].max():.0f} ms): each position was acquired "
                     "in its own heartbeats; phases are matched by order.")
    return [float(v) for v in np.median(table, axis=0)], notes

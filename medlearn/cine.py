"""Cardiac function from a whole cine: segment every phase, find ED and ES, measure EF.

A short-axis cine holds one ``(Z, Y, X)`` stack per cardiac phase
(:func:`medlearn.data.io.cine.read_cine`). :func:`cardiac_function` segments every phase
with a ``segment`` callable (a model through :class:`ModelSegmenter`, or expert masks),
takes the LV cavity volume of each phase (Simpson's discs, ``medlearn.clinical``),
picks end-diastole as the phase with the largest cavity and end-systole as the one with
the smallest (or the phases the user names), and reports EDV, ESV, stroke volume, EF and
myocardial mass with ``clinical.lv_function``. Labels follow the heart case:
0 background, 1 LV cavity, 2 myocardium.

The slice spacing of Simpson's discs is the phases' own (the distance between slice
positions, from the geometry); when the header's SliceThickness differs, a note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from medlearn import clinical
from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError

Segmenter = Callable[[MedImage], np.ndarray]
"""MedImage ``(Z, Y, X)`` -> integer label map of the same shape (0, 1 cavity, 2 myocardium)."""

CAVITY, MYOCARDIUM = 1, 2
SPACING_TOLERANCE_MM = 0.1
"""Slice spacing and SliceThickness closer than this count as the same (no note)."""


@dataclass
class CineResult:
    """EDV, ESV, SV, EF and mass of a cine, with the volume curve and the phases used.

    Attributes:
        edv_ml, esv_ml, stroke_volume_ml, ef_percent, myocardial_mass_g: ``clinical.lv_function``
            on the ED and ES masks (mass at end-diastole).
        ed_phase, es_phase: indices into the cine's phases (from 0).
        ed_reason, es_reason: why those phases (largest / smallest cavity, or the user's choice).
        cavity_volumes_ml, myocardium_volumes_ml: per phase (the volume curve).
        trigger_times_ms: per phase when the header has them, else None.
        spacing_mm: ``(slice spacing, sy, sx)`` used by Simpson's method.
        notes: how the cine was read (its own notes first), what the numbers rest on, what to check.
        masks: the label map of every phase (for display and overrides; not in :meth:`summary`).
    """

    edv_ml: float
    esv_ml: float
    stroke_volume_ml: float
    ef_percent: float
    myocardial_mass_g: float
    ed_phase: int
    es_phase: int
    ed_reason: str
    es_reason: str
    cavity_volumes_ml: list[float]
    myocardium_volumes_ml: list[float]
    trigger_times_ms: list[float] | None
    spacing_mm: tuple[float, ...]
    notes: list[str] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list, repr=False)

    def measurements(self) -> dict[str, float]:
        """The heart case's measurements, units in the names."""
        return {"edv_ml": self.edv_ml, "esv_ml": self.esv_ml, "stroke_volume_ml": self.stroke_volume_ml,
                "ef_percent": self.ef_percent, "myocardial_mass_g": self.myocardial_mass_g}

    def trigger_time(self, phase: int) -> float | None:
        return None if self.trigger_times_ms is None else self.trigger_times_ms[phase]

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields (no masks), with one row per phase."""
        return {
            **{k: round(v, 3) for k, v in self.measurements().items()},
            "ed_phase": self.ed_phase, "es_phase": self.es_phase,
            "ed_reason": self.ed_reason, "es_reason": self.es_reason,
            "ed_trigger_time_ms": self.trigger_time(self.ed_phase),
            "es_trigger_time_ms": self.trigger_time(self.es_phase),
            "phases": [{"phase": t, "trigger_time_ms": self.trigger_time(t),
                        "lv_cavity_volume_ml": round(self.cavity_volumes_ml[t], 3),
                        "myocardium_volume_ml": round(self.myocardium_volumes_ml[t], 3)}
                       for t in range(len(self.cavity_volumes_ml))],
            "slice_spacing_mm": round(self.spacing_mm[0], 4),
            "spacing_mm": [round(s, 4) for s in self.spacing_mm],
            "notes": list(self.notes),
        }


def _phases(cine) -> tuple[list[MedImage], list[float] | None, str]:
    phases = list(getattr(cine, "phases", cine))
    times = getattr(cine, "trigger_times_ms", None)
    source = getattr(cine, "source", "") or (phases[0].source if phases else "the cine")
    if len(phases) < 2:
        raise MedlearnInputError(
            f"{source}: EF needs at least end-diastole and end-systole, and this series holds one phase only "
            "(one frame per slice position). Give the whole cine: every slice position at every phase."
        )
    first = phases[0]
    if first.spatial_dims != 3:
        raise MedlearnInputError(f"{source}: EF needs a stack of short-axis slices at each phase; "
                                 f"the phases are {first.spatial_dims}D.")
    for t, image in enumerate(phases[1:], 1):
        if image.spatial_shape != first.spatial_shape or not np.allclose(image.spacing, first.spacing, rtol=1e-4):
            raise MedlearnInputError(
                f"{source}: phase {t} has shape {image.spatial_shape} and spacing {image.spacing}, phase 0 "
                f"{first.spatial_shape} and {first.spacing}; every phase must share one geometry."
            )
    if times is not None and len(times) != len(phases):
        times = None
    return phases, times, source


def segment_phases(cine, segment: Segmenter) -> list[np.ndarray]:
    """The label map of every phase, checked against the phase's shape.

    Args:
        cine: a :class:`~medlearn.data.io.cine.CineSeries` (or a list of phase MedImages).
        segment: MedImage -> integer label map of its ``(Z, Y, X)`` shape.
    """
    phases, _, _ = _phases(cine)
    masks = []
    for t, image in enumerate(phases):
        masks.append(_checked_mask(segment(image), image, t))
    return masks


def _checked_mask(mask, image: MedImage, t: int) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != image.spatial_shape:
        raise MedlearnInputError(f"The mask of phase {t} has shape {m.shape}; the phase is {image.spatial_shape}.")
    if m.dtype.kind not in "iub":
        if not np.array_equal(m, np.round(m)):
            raise MedlearnInputError(f"The mask of phase {t} is not an integer label map (0, 1 cavity, 2 myocardium).")
        m = m.astype(np.int16)
    return m


def _pick(index: int | None, count: int, what: str) -> int | None:
    if index is None:
        return None
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise MedlearnInputError(f"The {what} phase must be a whole number, got {index!r}.")
    if not 0 <= int(index) < count:
        raise MedlearnInputError(f"There is no phase {index} for {what}: this cine has {count} phases "
                                 f"(0 to {count - 1}).")
    return int(index)


def _when(times: list[float] | None, t: int) -> str:
    return f" at {times[t]:.0f} ms" if times is not None else ""


def cardiac_function(cine, segment: Segmenter, ed: int | None = None, es: int | None = None) -> CineResult:
    """Segment every phase, find end-diastole and end-systole, and measure the LV.

    Args:
        cine: a :class:`~medlearn.data.io.cine.CineSeries` (or a list of phase MedImages),
            at least two ``(Z, Y, X)`` phases with one geometry.
        segment: MedImage -> integer label map of the same shape (0 background, 1 LV cavity,
            2 myocardium), e.g. ``lambda im: predictor.predict("heart", im, explain=None).mask``.
        ed, es: phase indices (from 0) chosen by the user; None = the phase with the largest
            (ED) or smallest (ES) cavity volume.

    Raises:
        MedlearnInputError: one phase, phases of different geometry, masks of the wrong shape,
            ED and ES the same phase, or no cavity at end-diastole.
    """
    return function_from_masks(cine, segment_phases(cine, segment), ed, es)


def function_from_masks(cine, masks: Sequence[np.ndarray], ed: int | None = None,
                        es: int | None = None) -> CineResult:
    """:func:`cardiac_function` from masks already computed (one per phase): changing the
    ED or ES phase needs no new segmentation."""
    phases, times, source = _phases(cine)
    if len(masks) != len(phases):
        raise MedlearnInputError(f"{len(masks)} masks for {len(phases)} phases: give one mask per phase.")
    masks = [_checked_mask(m, image, t) for t, (m, image) in enumerate(zip(masks, phases))]
    spacing = phases[0].spacing
    volumes = [clinical.lv_volumes(m, spacing, CAVITY, MYOCARDIUM) for m in masks]
    cavity = [v["lv_cavity_volume_ml"] for v in volumes]
    myo = [v["myocardium_volume_ml"] for v in volumes]
    n = len(phases)
    ed_user, es_user = _pick(ed, n, "end-diastole"), _pick(es, n, "end-systole")
    ed_phase = ed_user if ed_user is not None else int(np.argmax(cavity))
    es_phase = es_user if es_user is not None else int(np.argmin(cavity))
    if ed_phase == es_phase:
        if ed_user is None and es_user is None:
            raise MedlearnInputError(
                f"{source}: the LV cavity volume is the same in every phase ({cavity[0]:.1f} ml), so end-diastole "
                "and end-systole cannot be told apart; check the segmentation or name the phases."
            )
        raise MedlearnInputError(f"End-diastole and end-systole are both phase {ed_phase}: choose two different phases.")
    numbers = clinical.lv_function(masks[ed_phase], masks[es_phase], spacing, CAVITY, MYOCARDIUM)
    ed_reason = ("chosen by the user" if ed_user is not None else
                 f"largest LV cavity volume of the {n} phases ({cavity[ed_phase]:.1f} ml)") + _when(times, ed_phase)
    es_reason = ("chosen by the user" if es_user is not None else
                 f"smallest LV cavity volume of the {n} phases ({cavity[es_phase]:.1f} ml)") + _when(times, es_phase)
    notes = list(getattr(cine, "notes", [])) + _notes(phases, masks[ed_phase], numbers, n)
    return CineResult(
        edv_ml=numbers["edv_ml"], esv_ml=numbers["esv_ml"], stroke_volume_ml=numbers["stroke_volume_ml"],
        ef_percent=numbers["ef_percent"], myocardial_mass_g=numbers["myocardial_mass_g"],
        ed_phase=ed_phase, es_phase=es_phase, ed_reason=ed_reason, es_reason=es_reason,
        cavity_volumes_ml=cavity, myocardium_volumes_ml=myo, trigger_times_ms=None if times is None else list(times),
        spacing_mm=tuple(spacing), notes=notes, masks=masks,
    )


def _notes(phases: list[MedImage], ed_mask: np.ndarray, numbers: dict[str, float], n: int) -> list[str]:
    first = phases[0]
    sz = first.spacing[0]
    geometric = first.meta.get("sorted_by") == "ImagePositionPatient"
    notes = [f"Simpson's method over {first.spatial_shape[0]} slices, {sz:.2f} mm apart "
             + ("(the distance between slice positions)." if geometric else "(the image's slice spacing).")]
    if first.meta.get("spacing_unit") == "pixel" or getattr(first, "spacing_known", True) is False:
        notes.append("The header gives no pixel spacing: volumes are in voxel units, not ml; EF (a ratio) "
                     "still holds.")
    elif first.meta.get("sorted_by") not in (None, "ImagePositionPatient"):
        notes.append("The slices carry no positions: the slice spacing comes from the header, not the geometry.")
    thickness = first.meta.get("SliceThickness")
    if isinstance(thickness, (int, float)) and abs(float(thickness) - sz) > SPACING_TOLERANCE_MM:
        gap = "gaps between the slices" if sz > float(thickness) else "overlapping slices"
        notes.append(f"SliceThickness is {float(thickness):.2f} mm but the slices are {sz:.2f} mm apart "
                     f"({gap}); the volumes use the {sz:.2f} mm spacing.")
    if n == 2:
        notes.append("Two phases only: end-diastole and end-systole are the larger and the smaller of the two.")
    if not (ed_mask == MYOCARDIUM).any():
        notes.append("No myocardium at end-diastole: the myocardial mass is 0 g (no epicardial outline).")
    if numbers["stroke_volume_ml"] < 0:
        notes.append("The end-systolic volume exceeds the end-diastolic one, so EF is negative: check the phases.")
    return notes


class ModelSegmenter:
    """A :data:`Segmenter` over a trained model: ``predict(case, image, explain=None).mask``.

    Args:
        case: the case key (``"heart"``).
        arch: architecture; None = the best trained model of the case.
        checkpoint: a specific ``.safetensors`` checkpoint (overrides ``arch``).
        predictor: anything with ``Predictor.predict``'s signature (the app's batching
            predictor); None = the shared ``medlearn.predict.default_predictor()``.

    Attributes:
        predictions: the prediction of each call, in order (weights note, notes, timings).
    """

    def __init__(self, case: str = "heart", arch: str | None = None, checkpoint=None, predictor=None):
        self.case, self.arch, self.checkpoint = case, arch, checkpoint
        self._predictor = predictor
        self.predictions: list = []

    def __call__(self, image: MedImage) -> np.ndarray:
        if self._predictor is None:
            from medlearn.predict import default_predictor

            self._predictor = default_predictor()
        pred = self._predictor.predict(self.case, image, arch=self.arch, explain=None, checkpoint=self.checkpoint)
        if pred.mask is None:
            raise MedlearnInputError(f"The {self.case} model gives no mask: cardiac function needs a segmentation.")
        self.predictions.append(pred)
        return pred.mask

"""Do the grading network's maps land on lesions? Grad-CAM scored against real lesion masks.

The diabetic-retinopathy grading network never saw a lesion outline; its Grad-CAM is often
shown as if it pointed at microaneurysms and exudates. Here the map Predict draws for the
grading network (:meth:`medlearn.predict.Predictor.predict`, the one prediction path) is
scored on photographs whose hard exudates were outlined by experts (IDRiD) or drawn
exactly (phantoms), inside the field of view (:func:`medlearn.data.fov.fov_mask`):

* **pointing game** (Zhang et al., ECCV 2016): the map's maximum lies within a tolerance of a
  lesion (15 pixels on a 224-pixel picture there; here the same share, :data:`TOLERANCE`, of
  the photograph's shorter side). **Chance**: the share of the field of view within that
  tolerance of a lesion, where a peak dropped at random would score.
* **energy inside lesions** (Wang et al., Score-CAM 2020): the share of the map's mass inside
  the field of view that falls on lesion pixels. **Chance**: the lesions' share of the field of
  view, what a flat map scores.
* where an optic disc mask is known: whether the peak sits on the disc, the bright yellow
  look-alike of an exudate.

Per-image scores come from :func:`medlearn.explain.localisation_score`; every summary figure
has its bootstrap interval over patients (each IDRiD photograph is its own) from
:func:`medlearn.evaluate.bootstrap`. The map explains the most probable DR grade of 1 or more
by default (``target="disease"``): every photograph scored here has exudates, so at least
moderate NPDR, and a map of "No DR" asks where the disease is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from medlearn.errors import MedlearnInputError

TOLERANCE = 15 / 224  # Zhang et al.'s 15 pixels on 224-pixel inputs, as a share of the shorter side
TARGETS = ("disease", "predicted")
FIGURES = {
    "hit": "pointing game: peak on or near a lesion",
    "hit_chance": "pointing game by chance (random peak in the field)",
    "hit_gain": "pointing game minus chance",
    "energy": "share of the map's energy inside lesions",
    "energy_chance": "lesions' share of the field (a flat map's energy)",
    "energy_ratio": "energy inside lesions / chance",
    "on_disc": "peak on the optic disc",
}


def score_map(cam: np.ndarray, lesion: np.ndarray, fov: np.ndarray, tolerance: float = TOLERANCE,
              disc: np.ndarray | None = None) -> dict:
    """Score one map against one lesion mask inside the field of view.

    Args:
        cam: ``(H, W)`` non-negative map (a Grad-CAM in [0, 1]) at the photograph's size.
        lesion: ``(H, W)`` lesion mask (non-zero = lesion).
        fov: ``(H, W)`` bool field of view; the map outside it is not counted.
        tolerance: pointing-game tolerance as a share of the shorter side.
        disc: ``(H, W)`` optic disc mask, or None.

    Returns:
        ``hit``, ``peak_in_lesion`` (bool), ``peak_distance_px``, ``hit_chance``, ``energy``,
        ``energy_chance``, ``energy_ratio``, ``on_disc`` (bool or None), ``peak`` ``(y, x)``,
        ``tolerance_px``.

    Raises:
        MedlearnInputError: shapes differ, no lesion inside the field of view, or an empty field.
    """
    from scipy.ndimage import distance_transform_edt

    from medlearn.explain.localisation import localisation_score

    cam, fov = np.asarray(cam, np.float64), np.asarray(fov, bool)
    inside = (np.asarray(lesion) != 0) & fov
    if not (cam.shape == inside.shape == fov.shape) or cam.ndim != 2:
        raise MedlearnInputError(f"The map {cam.shape}, lesion mask {np.shape(lesion)} and field of view "
                                 f"{fov.shape} must be one 2D shape.")
    if not fov.any():
        raise MedlearnInputError("The field of view is empty: nothing to score.")
    if not 0 < tolerance < 1:
        raise MedlearnInputError(f"The pointing tolerance is a share of the image side in (0, 1); got {tolerance!r}.")
    tolerance_px = float(tolerance * min(cam.shape))
    s = localisation_score(np.where(fov, cam, 0.0), inside, tolerance_px=tolerance_px)  # empty lesion: refused
    near = distance_transform_edt(~inside) <= tolerance_px
    chance = float(inside.sum() / fov.sum())
    peak = np.unravel_index(int(np.argmax(np.where(fov, np.maximum(cam, 0), -1.0))), cam.shape)
    return {
        "hit": bool(s["pointing_game"]), "peak_in_lesion": bool(s["peak_in_lesion"]),
        "peak_distance_px": float(s["peak_distance_px"]), "hit_chance": float(near[fov].mean()),
        "energy": float(s["energy_in_lesion"]), "energy_chance": chance,
        "energy_ratio": float(s["energy_in_lesion"] / chance),
        "on_disc": None if disc is None else bool(np.asarray(disc, bool)[peak]),
        "peak": (int(peak[0]), int(peak[1])), "tolerance_px": tolerance_px,
    }


@dataclass
class LesionCamResult:
    """Maps of one grading network scored on a set of photographs.

    Attributes:
        checkpoint, arch, method, target: what was explained, how.
        rows: one dict per scored photograph (``id``, ``group``, ``predicted``, ``explained``,
            ``probability`` of the explained grade, and :func:`score_map`'s scores).
        figures: :class:`medlearn.evaluate.Figure` per :data:`FIGURES` key (mean over
            photographs, bootstrap interval over patients, n).
        skipped: ``(id, reason)`` of photographs left out (no lesion in the field of view...).
        maps: ``{id: (H, W) float32 map}`` when asked to keep them, else empty.
        verdict: the answer in words.
    """

    checkpoint: str
    arch: str
    method: str
    target: str
    rows: list[dict]
    figures: list
    skipped: list[tuple[str, str]] = field(default_factory=list)
    maps: dict = field(default_factory=dict)
    verdict: str = ""

    def figure(self, name: str):
        from medlearn.evaluate import figure_named

        return figure_named(self.figures, name)

    def to_dict(self) -> dict:
        return {"checkpoint": self.checkpoint, "arch": self.arch, "method": self.method, "target": self.target,
                "figures": {f.name: f.to_dict() for f in self.figures},
                "rows": [{k: v for k, v in r.items() if k != "peak"} for r in self.rows],
                "skipped": [list(s) for s in self.skipped], "verdict": self.verdict}


def explain_grading(image, checkpoint: str, *, case: str = "retina", method: str = "gradcam",
                    target: str = "disease", predictor=None):
    """``(prediction, explained class)``: the grading network's :class:`~medlearn.predict.Prediction`
    of ``image`` with its map, through the predictor Predict uses, explaining the predicted grade
    (``target="predicted"``) or the most probable grade of 1 or more (``"disease"``: the predicted
    grade when it is one, else a second pass for the most probable of the others)."""
    from medlearn.predict import default_predictor

    if target not in TARGETS:
        raise MedlearnInputError(f"Unknown target {target!r}: use {' or '.join(TARGETS)}.")
    predictor = predictor or default_predictor()
    pred = predictor.predict(case, image, explain=method, checkpoint=checkpoint)
    if target == "predicted" or pred.class_index >= 1:
        return pred, pred.class_index
    disease = 1 + int(np.argmax(list(pred.probabilities.values())[1:]))
    return predictor.predict(case, image, explain=method, checkpoint=checkpoint, class_index=disease), disease


def score_grading_maps(items: Sequence, checkpoint: str, *, case: str = "retina", method: str = "gradcam",
                       target: str = "disease", tolerance: float = TOLERANCE,
                       discs: dict[str, np.ndarray] | None = None, predictor=None, resamples: int = 1000,
                       seed: int = 0, keep_maps: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> LesionCamResult:
    """Explain each photograph with the grading network of ``checkpoint`` and score its map
    against the photograph's lesion mask (``item.mask``, non-zero = lesion) inside its field
    of view. ``items``: samples or phantoms (``image``, ``mask``, ``meta``); ``discs``: optic
    disc masks by item id. Photographs without a lesion in the field of view are skipped
    (there is nothing to point at) and listed in ``skipped``."""
    from medlearn.data.fov import fov_mask
    from medlearn.evaluate import Figure, bootstrap, group_rows
    from medlearn.predict import default_predictor
    from medlearn.train.data import group_of, item_id

    predictor = predictor or default_predictor()
    rows, skipped, maps = [], [], {}
    arch = ""
    for index, item in enumerate(items):
        name = item_id(item, index)
        try:
            if item.mask is None:
                raise MedlearnInputError("no lesion mask")
            fov = fov_mask(item.image.pixels)
            if not ((np.asarray(item.mask) != 0) & fov).any():
                raise MedlearnInputError("no lesion inside the field of view")
            pred, explained = explain_grading(item.image, checkpoint, case=case, method=method, target=target,
                                              predictor=predictor)
            disc = (discs or {}).get(name)
            scores = score_map(pred.explanation, item.mask, fov, tolerance, disc)
        except MedlearnInputError as exc:
            skipped.append((name, str(exc)))
        else:
            arch = pred.arch
            names = list(pred.probabilities)
            rows.append({"id": name, "group": group_of(item, index), "predicted": pred.prediction,
                         "explained": names[explained], "probability": pred.probabilities[names[explained]],
                         **scores})
            if keep_maps:
                maps[name] = pred.explanation
        if progress is not None:
            progress(index + 1, len(items))
    if not rows:
        first = f" (first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise MedlearnInputError(f"None of the {len(items)} photographs could be scored{first}.")
    figures = _figures(rows, resamples, seed, Figure, bootstrap, group_rows)
    result = LesionCamResult(str(checkpoint), arch, method, target, rows, figures, skipped, maps)
    result.verdict = verdict(result)
    return result


def _figures(rows, resamples, seed, Figure, bootstrap, group_rows) -> list:
    col = {k: np.array([np.nan if r[k] is None else float(r[k]) for r in rows])
           for k in ("hit", "hit_chance", "energy", "energy_chance", "energy_ratio", "on_disc")}
    col["hit_gain"] = col["hit"] - col["hit_chance"]
    stats = {k: (lambda r, k=k: _nanmean(col[k][r])) for k in FIGURES if np.isfinite(col[k]).any()}
    intervals = bootstrap(group_rows([r["group"] for r in rows]), stats, resamples, seed)
    every = np.arange(len(rows))
    return [Figure(k, FIGURES[k], stats[k](every), *intervals[k], n=int(np.isfinite(col[k]).sum()))
            for k in stats]


def _nanmean(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if kept.size else math.nan


def verdict(result: LesionCamResult) -> str:
    """Does the map land on lesions more often than chance? In words, from the intervals."""
    gain, ratio = result.figure("hit_gain"), result.figure("energy_ratio")
    n = gain.n
    if n < 2 or not np.isfinite(gain.low):
        return f"Only {n} photograph(s) scored: too few to say whether the maps beat chance."
    hits = f"peak on or near a lesion in {result.figure('hit').value:.0%} of {n} photographs " \
           f"(chance {result.figure('hit_chance').value:.0%})"
    energy = f"{ratio.value:.1f}x the lesions' share of the field in energy (95 % interval {ratio.low:.1f}-{ratio.high:.1f})"
    if gain.low > 0 and ratio.low > 1:
        return f"The maps land on lesions more often than chance: {hits}; {energy}."
    if gain.high < 0 and ratio.high < 1:
        return f"The maps avoid the lesions: {hits}; {energy}. They point elsewhere."
    return (f"The maps do not land on lesions reliably: {hits}; {energy}. The intervals include chance, "
            "so these maps are no evidence that the network looks at exudates.")

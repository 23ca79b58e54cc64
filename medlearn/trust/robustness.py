"""Robustness: how far can an image be degraded before the model's answer changes?

A registry of perturbations (noise, blur, gamma, MR bias field, motion, JPEG, rotation),
each with a strength in understandable units, deterministic for a seed. They act on the
image as stored (modality units), before the model card's preprocessing: that is where a
scanner, a compressor or a moving patient changes an image, and the model's own pipeline
(:func:`medlearn.predict.prepare`: window, resize, standardise) then reads the result as it
would read a clinical image. Every answer comes from :meth:`medlearn.predict.Predictor.predict`.

Curves: for one image, the probability of its clean answer (classification) or the Dice
(segmentation: against the expert mask, else against the clean prediction) at each
strength; over ``n`` validation items, the accuracy at the model's decisions or the mean
Dice, with percentile bootstrap intervals over patients (:func:`medlearn.evaluate.bootstrap`).

Noise, blur, gamma, bias field and rotation are MONAI transforms; JPEG is Pillow. Motion is
written here because TorchIO is not installed: the k-space lines acquired after the patient
moved come from a displaced copy of the image (a shift is a phase ramp in k-space), the
ghosting model of TorchIO's ``Motion`` (Shaw et al., MIDL 2019).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnInputError, UnknownNameError


def _range(x: np.ndarray) -> float:
    lo, hi = np.percentile(x, [0.5, 99.5])
    return float(hi - lo) if hi > lo else float(x.max() - x.min()) or 1.0


def _planes(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, *x.shape[-2:])


def _noise(x, sd_percent, seed, **_):
    from monai.transforms import RandGaussianNoise

    op = RandGaussianNoise(prob=1.0, std=sd_percent / 100 * _range(x), sample_std=False)
    op.set_random_state(seed)
    return np.asarray(op(x))


def _blur(x, sigma, seed, **_):
    from monai.transforms import GaussianSmooth

    return np.asarray(GaussianSmooth(sigma=float(sigma))(x))


def _gamma(x, gamma, seed, **_):
    from monai.transforms import AdjustContrast

    return np.asarray(AdjustContrast(gamma=float(gamma))(x))


def _bias(x, coeff, seed, **_):
    from monai.transforms import RandBiasField

    op = RandBiasField(degree=3, coeff_range=(-coeff, coeff), prob=1.0)  # same seed: coefficients scale with coeff
    op.set_random_state(seed)
    return np.asarray(op(x))


def _rotate(x, degrees, seed, nearest=False, **_):
    from monai.transforms import Rotate

    planes = _planes(x)
    low = float(planes.min())  # the corners that rotate in take the image's lowest value
    op = Rotate(np.deg2rad(degrees), keep_size=True, mode="nearest" if nearest else "bilinear", padding_mode="zeros")
    return (np.asarray(op(planes - low)) + low).reshape(x.shape)


def _motion(x, percent, seed, **_):
    """Two movements at seeded times of a line-by-line acquisition (rows of k-space, top to
    bottom): the lines after each come from the image displaced by ``percent`` % of the field
    of view in a seeded direction (the displacements add up). The damage grows with the
    displacement on the whole, not at every step: a ghost shifted by nearly the period of a
    fine pattern can match it a little better than a smaller shift does."""
    rng = np.random.default_rng(seed)
    planes = _planes(x).astype(np.float64)
    h, w = planes.shape[-2:]
    f = np.fft.fft2(planes)
    k = f.copy()
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    when = np.fft.fftfreq(h) + 0.5  # acquisition time of each row, 0 (top of k-space) to 1
    shift = np.zeros(2)
    for start, direction in zip(np.sort(rng.uniform(0.2, 0.8, 2)), rng.normal(size=(2, 2))):
        shift = shift + direction / np.linalg.norm(direction) * percent / 100 * np.array([h, w])
        rows = when >= start
        k[:, rows] = (f * np.exp(-2j * np.pi * (ky * shift[0] + kx * shift[1])))[:, rows]
    return np.fft.ifft2(k).real.astype(np.float32).reshape(x.shape)


def _jpeg(x, quality, seed, rgb=False, **_):
    from PIL import Image

    eight_bit = x.min() >= 0 and x.max() <= 255 and np.allclose(x, np.round(x))
    lo, hi = (0.0, 255.0) if eight_bit else (float(x.min()), float(x.max()) or 1.0)
    unit = np.clip((x - lo) / max(hi - lo, 1e-6) * 255, 0, 255).round().astype(np.uint8)
    pictures = [np.moveaxis(unit, 0, -1)] if rgb else list(_planes(unit))
    out = []
    for picture in pictures:
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="JPEG", quality=int(quality))
        out.append(np.asarray(Image.open(buffer), np.float32))
    decoded = np.moveaxis(out[0], -1, 0) if rgb else np.stack(out).reshape(x.shape)
    return decoded / 255 * (hi - lo) + lo


@dataclass(frozen=True)
class Perturbation:
    """One way to degrade an image. ``levels``: the curve's strengths, the clean one first
    (``transform`` is never called there); ``geometric``: pixels move, so a mask follows;
    ``reverse``: the strength falls as the damage grows (JPEG quality); ``step``: a slider's step."""

    name: str
    title: str
    unit: str
    levels: tuple[float, ...]
    transform: Callable[..., np.ndarray]
    about: str
    step: float = 1.0
    geometric: bool = False
    reverse: bool = False

    @property
    def clean(self) -> float:
        return self.levels[0]

    @property
    def bounds(self) -> tuple[float, float]:
        return min(self.levels), max(self.levels)

    def apply(self, image: MedImage, strength: float, seed: int = 0,
              mask: np.ndarray | None = None) -> tuple[MedImage, np.ndarray | None]:
        """``(perturbed image, mask moved with it)``; the image keeps its type, geometry and window."""
        if not self.bounds[0] <= strength <= self.bounds[1]:
            raise MedlearnInputError(f"{self.title} strength {strength:g} is outside "
                                     f"{self.bounds[0]:g}-{self.bounds[1]:g} {self.unit}.")
        if strength == self.clean:
            return image, mask
        x = np.moveaxis(image.pixels, -1, 0) if image.is_rgb else image.pixels[None]
        out = self.transform(x.astype(np.float32), strength, seed, rgb=image.is_rgb)
        pixels = np.moveaxis(out, 0, -1) if image.is_rgb else out[0]
        if image.pixels.dtype.kind in "ui":
            info = np.iinfo(image.pixels.dtype)
            pixels = np.clip(np.round(pixels), info.min, info.max)
        moved = mask
        if self.geometric and mask is not None:
            moved = self.transform(np.asarray(mask, np.float32)[None], strength, seed, nearest=True)[0]
            moved = np.round(moved).astype(np.asarray(mask).dtype)
        return image.with_pixels(np.ascontiguousarray(pixels.astype(image.pixels.dtype))), moved


PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("noise", "Gaussian noise", "% of the intensity range (sd)", (0, 2, 5, 10, 20, 35), _noise,
                 "Electronic noise of a low-dose CT or a fast MR: random values added to every pixel.", 1.0),
    Perturbation("blur", "Blur", "px (Gaussian sigma)", (0, 0.5, 1, 2, 3, 5), _blur,
                 "A defocused camera or a coarse reconstruction kernel: fine edges wash out.", 0.25),
    Perturbation("gamma", "Contrast (gamma)", "gamma", (1, 1.5, 2, 3, 4), _gamma,
                 "Another scanner's or monitor's contrast curve: mid-tones darken as gamma grows.", 0.1),
    Perturbation("bias", "MR bias field", "field coefficient", (0, 0.1, 0.2, 0.35, 0.5, 0.8), _bias,
                 "Uneven coil sensitivity in MR (or uneven lighting): a smooth multiplicative shading.", 0.05),
    Perturbation("motion", "Motion", "% of the field of view (displacement)", (0, 1, 2, 4, 6, 10), _motion,
                 "The patient moved during the acquisition: ghost copies of the anatomy appear.", 0.5),
    Perturbation("jpeg", "JPEG compression", "JPEG quality (100: the original)", (100, 75, 50, 30, 15, 5), _jpeg,
                 "An image saved as a JPEG (a screenshot, an e-mail): 8 x 8 blocks and lost fine detail.",
                 5.0, reverse=True),
    Perturbation("rotation", "Rotation", "degrees", (0, 5, 10, 20, 30, 45), _rotate,
                 "A patient or a camera turned a little: the anatomy is no longer where training put it.",
                 1.0, geometric=True),
)


def list_perturbations() -> list[Perturbation]:
    return list(PERTURBATIONS)


def get_perturbation(name: str) -> Perturbation:
    for p in PERTURBATIONS:
        if p.name == name:
            return p
    raise UnknownNameError(f"Unknown perturbation {name!r}; choose one of {', '.join(p.name for p in PERTURBATIONS)}.")



# -- curves ------------------------------------------------------------------------------------
@dataclass
class Point:
    """The answer at one strength: ``answer`` (class name or Dice in words), ``score`` (the
    clean answer's probability, or Dice), ``confidence`` (probability of the class answered)."""

    strength: float
    answer: str
    score: float
    confidence: float | None = None
    changed: bool = False


@dataclass
class ImageCurve:
    """One image's answers against the strength of one perturbation."""

    perturbation: str
    unit: str
    score_name: str
    reference: str
    points: list[Point]


@dataclass
class SetCurve:
    """Accuracy (at the model's decisions) or mean Dice over ``n`` items at each strength,
    with bootstrap intervals over ``n_groups`` patients; ``confidence``: the mean probability
    of the true class (classification)."""

    perturbation: str
    unit: str
    score_name: str
    strengths: list[float]
    values: list[float]
    low: list[float]
    high: list[float]
    n: int
    n_groups: int
    confidence: list[float] | None
    notes: list[str]


def dice_score(mask: np.ndarray, reference: np.ndarray, num_classes: int) -> float:
    """Mean foreground Dice of a label map against a reference (:func:`medlearn.metrics.segmentation_metrics`)."""
    from medlearn.metrics import segmentation_metrics

    return float(segmentation_metrics(mask[None], np.asarray(reference)[None], num_classes, hd95=False)["dice"])


def _predict(predictor, case, checkpoint, image):
    return predictor.predict(case.key, image, explain=None, checkpoint=checkpoint)


def image_curve(case_key: str, image: MedImage, checkpoint: str, perturbation: str, mask: np.ndarray | None = None,
                seed: int = 0, predictor=None, levels: tuple[float, ...] | None = None) -> ImageCurve:
    """The answers for ``image`` at each strength (default: the perturbation's levels)."""
    from medlearn.cases import get_case
    from medlearn.predict import default_predictor

    case, spec = get_case(case_key), get_perturbation(perturbation)
    predictor = predictor or default_predictor()
    clean = _predict(predictor, case, checkpoint, image)
    segment = case.task.is_segmentation
    reference = "the expert mask" if segment and mask is not None else "the clean prediction"
    points = []
    for strength in levels or spec.levels:
        moved_image, moved = spec.apply(image, strength, seed, mask if mask is not None else clean.mask)
        pred = clean if strength == spec.clean else _predict(predictor, case, checkpoint, moved_image)
        if segment:
            dice = dice_score(pred.mask, moved, case.task.num_classes)
            points.append(Point(strength, f"Dice {dice:.2f}", dice))
        else:
            p = pred.probabilities
            points.append(Point(strength, pred.prediction, p[clean.prediction], p[pred.prediction],
                                pred.prediction != clean.prediction))
    score = "Dice" if segment else f"probability of {clean.prediction}"
    return ImageCurve(spec.name, spec.unit, score, reference if segment else clean.prediction, points)


def set_curve(case_key: str, items, checkpoint: str, perturbation: str, seed: int = 0, predictor=None,
              resamples: int = 1000, progress: Callable[[int, int], None] | None = None) -> SetCurve:
    """Accuracy or Dice of ``items`` (``image``, ``label``/``mask``, ``meta``) at each strength;
    item ``i`` is perturbed with seed ``seed + i``. Items that cannot be read are left out."""
    from medlearn.cases import get_case
    from medlearn.evaluate import bootstrap, group_rows
    from medlearn.predict import default_predictor
    from medlearn.train.data import group_of

    case, spec = get_case(case_key), get_perturbation(perturbation)
    predictor = predictor or default_predictor()
    segment = case.task.is_segmentation
    scores, truth_p, groups, notes = [], [], [], []
    total = len(items) * len(spec.levels)
    for i, item in enumerate(items):
        row, row_p = [], []
        try:
            for strength in spec.levels:
                image, moved = spec.apply(item.image, strength, seed + i, item.mask if segment else None)
                pred = _predict(predictor, case, checkpoint, image)
                if segment:
                    row.append(dice_score(pred.mask, moved, case.task.num_classes))
                else:
                    row.append(float(pred.class_index == int(item.label)))
                    row_p.append(pred.probabilities[case.task.class_names[int(item.label)]])
                if progress is not None:
                    progress(i * len(spec.levels) + len(row), total)
        except MedlearnInputError as exc:
            notes.append(f"Item {i} left out: {exc}")
            continue
        groups.append(group_of(item, i))
        scores.append(row), truth_p.append(row_p)
    if not scores:
        raise MedlearnInputError("None of the items could be scored. " + (notes[0] if notes else ""))
    table = np.array(scores, np.float64)
    stats = {str(j): (lambda r, j=j: float(np.nanmean(table[r, j]))) for j in range(len(spec.levels))}
    intervals = bootstrap(group_rows(groups), stats, resamples, seed)
    values = [float(np.nanmean(table[:, j])) for j in range(len(spec.levels))]
    return SetCurve(spec.name, spec.unit, "Dice" if segment else "accuracy", [float(s) for s in spec.levels], values,
                    [intervals[str(j)][0] for j in range(len(values))], [intervals[str(j)][1] for j in range(len(values))],
                    len(scores), len(set(groups)), None if segment else np.mean(truth_p, 0).tolist(), notes)


def validation_items(case_key: str, checkpoint: str, limit: int, predictor=None) -> tuple[list, str]:
    """``(items, in words)``: the first ``limit`` items of the model's own validation split,
    rebuilt from its checkpoint's plan as :func:`medlearn.evaluate.evaluate` rebuilds it."""
    from medlearn.cases import get_case
    from medlearn.evaluate import evaluation_items
    from medlearn.predict import default_predictor

    meta = (predictor or default_predictor()).load(checkpoint).meta
    items, _, note, _, _, _ = evaluation_items(get_case(case_key), None, "val", meta, int(limit))
    return items, note

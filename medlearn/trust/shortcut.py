"""Shortcut learning: a network learns a cue planted on one class instead of the disease.

Real datasets carried such cues: rulers beside the lesions dermatologists worried about
(Winkler et al., JAMA Dermatol 155:1135, 2019), "portable" text markers on the chest
radiographs of sicker patients and hospital-specific tags (Zech et al., PLoS Med
15:e1002683, 2018). Here phantoms of a case get a cue (a corner tag, a text marker drawn
with Pillow, or a ruler) on every training image of one class; a small network of the
case's recipe trains on them through :class:`medlearn.train.trainer.Trainer` (the same
datasets, preprocessing and one-cycle schedule as any run, kept in memory: nothing enters
the run store). It is then tested on held-out phantoms (a) with the cue as in training,
(b) the same images without it, (c) with the cue swapped onto the other classes, and
Grad-CAM's share of energy on the cue region is measured
(:func:`medlearn.explain.localisation_score`). The cue stamps are written here: no library
draws a ruler or a tag on a medical image.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from medlearn.data.image import MedImage
from medlearn.errors import MedlearnError, MedlearnInputError

CUES = {"tag": "a bright corner tag", "text": "a text marker (\"R\")", "ruler": "a ruler along the bottom edge"}
SETS = ("with cue", "without cue", "cue swapped")
NOT_FOR_SEGMENTATION = (
    "Shortcut learning is shown on the classification cases: a cue that marks a whole image's class gives a "
    "segmenter nothing to copy, because it must draw each pixel of the structure wherever it lies. Segmenters "
    "have shortcuts of their own (an arrow or a marker drawn beside the structure in teaching files, a field of "
    "view that always centres it), which this lesson does not plant.")


@dataclass(frozen=True)
class ShortcutConfig:
    """One experiment. ``arch`` None: the case's first network; ``cue_class`` None: the last
    class; ``difficulty``: of the phantoms (harder disease signs make the cue more tempting)."""

    case: str
    arch: str | None = None
    cue: str = "tag"
    cue_class: int | None = None
    n_train: int = 160
    n_test: int = 60
    epochs: int = 4
    input_size: int = 64
    width: int = 8
    difficulty: float = 0.8
    seed: int = 0


@dataclass
class Example:
    """One test image as the model saw it, its Grad-CAM overlay (RGB uint8) and answer."""

    title: str
    image: np.ndarray
    overlay: np.ndarray
    truth: str
    answer: str
    probability: float


@dataclass
class ShortcutResult:
    """Accuracy (argmax) on each test set with a 95 % bootstrap interval over images, how
    often each set was called the cue's class, and Grad-CAM's energy on the cue region
    (``cue_area``: what a map spread evenly would score) over ``n_cam`` cued images."""

    config: ShortcutConfig
    arch: str
    cue_class_name: str
    accuracy: dict[str, float]
    interval: dict[str, tuple[float, float]]
    called_cue_class: dict[str, float]
    n_test: int
    cue_energy: float
    cue_area: float
    n_cam: int
    examples: list[Example] = field(default_factory=list)
    seconds: float = 0.0


def cue_stamp(shape: tuple[int, int], cue: str) -> np.ndarray:
    """The cue's ink: a boolean ``(H, W)`` picture of a tag, a text marker or a ruler."""
    from PIL import Image, ImageDraw, ImageFont

    if cue not in CUES:
        raise MedlearnInputError(f"Unknown cue {cue!r}; choose one of {', '.join(CUES)}.")
    h, w = shape
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    side, margin = max(3, round(0.16 * min(h, w))), max(1, round(0.04 * min(h, w)))
    if cue == "tag":
        draw.rectangle([margin, margin, margin + side - 1, margin + side - 1], fill=255)
    elif cue == "text":
        font = ImageFont.load_default(size=max(8, round(0.24 * h)))
        draw.text((w - margin - round(0.18 * w), margin), "R", fill=255, font=font, stroke_width=max(1, h // 96),
                  stroke_fill=255)
    else:
        y = h - margin - max(1, round(0.02 * h))
        draw.rectangle([round(0.2 * w), y, round(0.8 * w), y + max(1, round(0.02 * h))], fill=255)
        for i, x in enumerate(np.linspace(0.2 * w, 0.8 * w, 9).round().astype(int)):
            tick = round((0.08 if i % 4 == 0 else 0.05) * h)
            draw.rectangle([x, y - tick, x + max(0, w // 128), y], fill=255)
    return np.asarray(canvas) > 0


def stamp(image: MedImage, cue: str) -> tuple[MedImage, np.ndarray]:
    """``(image with the cue burned in at its brightest value, cue region)``; a volume gets it
    on every slice. The region is the ink's bounding box, of the image's spatial shape."""
    ink = cue_stamp(tuple(image.spatial_shape[-2:]), cue)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    region = np.zeros_like(ink)
    region[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    grid = np.broadcast_to(ink, image.spatial_shape)
    pixels = image.pixels.copy()
    pixels[grid] = pixels.max()
    return image.with_pixels(pixels), np.broadcast_to(region, image.spatial_shape).copy()


def _cued(items, cue: str, carries: Callable[[int], bool]) -> tuple[list, list]:
    """``items`` with the cue on those whose label ``carries`` it; and each item's cue region (or None)."""
    out, regions = [], []
    for item in items:
        if carries(int(item.label)):
            image, region = stamp(item.image, cue)
            out.append(replace(item, image=image))
            regions.append(region)
        else:
            out.append(item)
            regions.append(None)
    return out, regions


class _Progress:
    """Trainer callback: reports the fraction of training batches done."""

    order = 90

    def __init__(self, report: Callable[[float, str], None], epochs: int):
        self.report, self.epochs = report, epochs

    def after_batch(self, trainer) -> None:
        if trainer.training:
            done = (trainer.epoch + (trainer.batch_index + 1) / max(trainer.n_batches, 1)) / self.epochs
            self.report(0.1 + 0.75 * done, f"Training, epoch {trainer.epoch + 1} of {self.epochs}")


def _train(config: ShortcutConfig, case, arch: str, train_set, report):
    from medlearn.train.config import TrainConfig
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import OneCycle, build_model
    from medlearn.train.seed import seed_everything
    from medlearn.train.trainer import Trainer

    plan = make_plan(case, arch, "phantoms", epochs=config.epochs, input_size=config.input_size,
                     width=config.width, seed=config.seed, augment=False)
    seed_everything(plan.seed)
    model = build_model(plan, case)
    settings = TrainConfig(task="classification", num_classes=case.task.num_classes, epochs=plan.epochs,
                           batch_size=plan.batch_size, learning_rate=plan.learning_rate, seed=plan.seed,
                           ordinal=case.task.ordinal, class_names=case.task.class_names, balanced=True)
    Trainer(model, train_set, None, settings, [OneCycle(), _Progress(report, plan.epochs)]).fit()
    return model.eval(), plan.model_dims


def _probabilities(model, images: torch.Tensor) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([torch.softmax(model(b.to(device)).float(), 1).cpu() for b in images.split(32)]).numpy()


def _in_model_view(region: np.ndarray, model_dims: int, size: tuple[int, ...]) -> np.ndarray:
    """A cue region of the image's shape as the model sees it (central slice of a volume for a
    2D model), resized to the CAM's shape ``size`` (nearest)."""
    from skimage.transform import resize

    if region.ndim == 3 and model_dims == 2:
        region = region[region.shape[0] // 2]
    return resize(region.astype(np.float32), size, order=0, anti_aliasing=False) > 0.5


def _cam(model, arch: str, images: torch.Tensor, regions: list, model_dims: int) -> tuple[np.ndarray, list[dict]]:
    """Grad-CAM maps of ``images`` (predicted class) and their scores against the cue ``regions``."""
    from medlearn.explain import compute_cam, localisation_score

    device = next(model.parameters()).device
    maps = np.concatenate([compute_cam(model, b.to(device), method="gradcam", arch=arch).maps
                           for b in images.split(16)])
    scores = [localisation_score(m, _in_model_view(r, model_dims, m.shape)) for m, r in zip(maps, regions)]
    return maps, scores


def _picture(image: MedImage) -> MedImage:
    """What to draw: the image, or a volume's central slice."""
    if image.spatial_dims == 2:
        return image
    return MedImage(image.pixels[image.shape[0] // 2], window=image.window)


def _example(title, item, cam, probs, names) -> Example:
    from medlearn.explain import heatmap_overlay, to_rgb_uint8

    picture = _picture(item.image)
    answer = int(np.argmax(probs))
    return Example(title, to_rgb_uint8(picture), heatmap_overlay(picture, cam), names[int(item.label)],
                   names[answer], float(probs[answer]))


def run_shortcut(config: ShortcutConfig, progress: Callable[[float, str], None] | None = None) -> ShortcutResult:
    """Plant the cue, train, test on the three sets, measure Grad-CAM on the cue (see module doc).

    Raises:
        MedlearnInputError: a segmentation case (:data:`NOT_FOR_SEGMENTATION`), an unknown cue
        or class, or too few phantoms of the cue's class.
    """
    from medlearn.cases import get_case
    from medlearn.data.phantoms import generate
    from medlearn.evaluate import bootstrap
    from medlearn.train.data import make_dataset, standardise

    start, report = time.perf_counter(), progress or (lambda fraction, stage: None)
    case = get_case(config.case)
    if case.task.is_segmentation:
        raise MedlearnInputError(NOT_FOR_SEGMENTATION)
    names = case.task.class_names
    k = len(names) - 1 if config.cue_class is None else int(config.cue_class)
    if not 0 <= k < len(names) or config.cue not in CUES:
        raise MedlearnInputError(f"Choose a cue of {', '.join(CUES)} and a class of 0..{len(names) - 1}.")
    arch = config.arch or case.recipe.first_network
    report(0.0, "Drawing phantoms and planting the cue")
    items = generate(case.key, n=config.n_train + config.n_test, seed=config.seed, difficulty=config.difficulty)
    train, test = items[:config.n_train], items[config.n_train:]
    if sum(int(it.label) == k for it in train) < 2 or sum(int(it.label) == k for it in test) < 1:
        raise MedlearnInputError(f"Too few {names[k]} phantoms to plant the cue on; draw more.")
    sets = {SETS[0]: _cued(test, config.cue, lambda y: y == k), SETS[1]: (list(test), [None] * len(test)),
            SETS[2]: _cued(test, config.cue, lambda y: y != k)}
    build = dict(case=case, input_size=config.input_size)
    train_set = make_dataset(_cued(train, config.cue, lambda y: y == k)[0], model_dims=_dims(arch, case), **build)
    tests = {name: make_dataset(cued, model_dims=_dims(arch, case), **build) for name, (cued, _) in sets.items()}
    standardise(train_set, *tests.values())
    model, dims = _train(config, case, arch, train_set, report)
    report(0.87, "Testing on the three sets")
    y = np.array([int(it.label) for it in test])
    probs = {name: _probabilities(model, data.images) for name, data in tests.items()}
    correct = {name: (p.argmax(1) == y).astype(float) for name, p in probs.items()}
    stats = {name: (lambda r, c=c: float(c[r].mean())) for name, c in correct.items()}
    interval = bootstrap([np.array([i]) for i in range(len(y))], stats, 1000, config.seed)
    report(0.92, "Grad-CAM on the images that carry the cue")
    cued = [(name, i) for name in (SETS[0], SETS[2]) for i, r in enumerate(sets[name][1]) if r is not None]
    images = torch.stack([tests[name].images[i] for name, i in cued])
    maps, scores = _cam(model, arch, images, [sets[name][1][i] for name, i in cued], dims)
    where = {key: j for j, key in enumerate(cued)}
    first_k = int(np.flatnonzero(y == k)[0])
    other = int(np.flatnonzero(y != k)[0])
    no_cue_map = _cam(model, arch, tests[SETS[1]].images[first_k:first_k + 1], [sets[SETS[0]][1][first_k]], dims)[0][0]
    examples = [
        _example(f"{names[k]}, with the cue (as in training)", sets[SETS[0]][0][first_k],
                 maps[where[(SETS[0], first_k)]], probs[SETS[0]][first_k], names),
        _example(f"The same {names[k]} image without the cue", test[first_k], no_cue_map, probs[SETS[1]][first_k],
                 names),
        _example(f"{names[int(y[other])]}, the cue swapped onto it", sets[SETS[2]][0][other],
                 maps[where[(SETS[2], other)]], probs[SETS[2]][other], names)]
    report(1.0, "Done")
    return ShortcutResult(
        config, arch, names[k], {n: float(c.mean()) for n, c in correct.items()},
        {n: tuple(v) for n, v in interval.items()},
        {n: float((p.argmax(1) == k).mean()) for n, p in probs.items()}, len(y),
        float(np.mean([s["energy_in_lesion"] for s in scores])), float(np.mean([s["lesion_fraction"] for s in scores])),
        len(scores), examples, time.perf_counter() - start)


def _dims(arch: str, case) -> int:
    from medlearn.train.plan import model_dims_of

    return model_dims_of(arch, case)


class ShortcutRun:
    """:func:`run_shortcut` in a background thread, so a page stays responsive: read
    ``progress`` (0-1), ``stage``, then ``result`` or ``error`` once ``done``. Runs of every
    session take turns (one lock per process): two at once would halve each one's CPU.
    (Not the training job manager: its jobs are runs of the run store, and this network is
    a throw-away demonstration that must not become the case's model.)"""

    _turn = threading.Lock()

    def __init__(self, config: ShortcutConfig):
        self.config = config
        self.progress, self.stage = 0.0, "Waiting for another shortcut experiment to finish"
        self.result: ShortcutResult | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="medlearn-shortcut", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done

    def _report(self, fraction: float, stage: str) -> None:
        self.progress, self.stage = fraction, stage

    def _run(self) -> None:
        with self._turn:
            try:
                self.result = run_shortcut(self.config, self._report)
            except MedlearnError as exc:
                self.error = str(exc)
            except Exception as exc:  # reported on the page, never lost in a thread
                self.error = f"The experiment failed: {type(exc).__name__}: {exc}"

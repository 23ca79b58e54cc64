"""The one preprocessing pipeline: how an image becomes a model's input tensor.

Training (:func:`medlearn.train.data.make_dataset`) and every prediction path
(:class:`medlearn.predict.Predictor`, the batching server, the command line,
``evaluate``) call the same functions with the same :class:`Preprocessing` record,
which is built once when a model trains and stored in its model card
(:mod:`medlearn.card`). Nothing here looks at the case or at the image's display
window: the model input depends only on the pixels (in modality units) and the record.

Steps, in order (:func:`model_array`, then :func:`resize`, then :func:`standardise`):

1. enhancement (ACE / CLAHE) on the image in its own units, when the model trained with it;
   then the central crop of the field of view, when the model has one (the heart's region of
   interest: the left ventricle is a few percent of a 256 px short-axis image);
2. colour: a grey model takes the luminance of a colour picture (float, before any
   window); a colour model repeats a grey image into three channels (after step 3);
3. intensity to [0, 1] (:class:`Intensity`): ``"unit"`` divides photographs by their
   full scale; ``"percentile"`` maps each image's lower..upper percentiles to 0..1
   (optionally capped at the quartiles ± ``cap_iqr`` interquartile ranges, so a few very
   bright voxels cannot stretch an MR window), per slice for a 2D case given a stack;
4. MONAI ``Resize`` to ``input_size`` per axis (linear, anti-aliased);
5. per-channel standardisation with the training set's mean and standard deviation.

The percentile arithmetic is written here (numpy) because MONAI's
``ScaleIntensityRangePercentiles`` has no interquartile cap and no per-slice mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from medlearn.data.image import LUMINANCE
from medlearn.errors import MedlearnInputError

INTENSITY_METHODS = ("unit", "percentile")


@dataclass(frozen=True)
class Intensity:
    """How pixel values become numbers in [0, 1].

    Attributes:
        method: ``"unit"`` (photographs and slides: divided by their full scale, 255 for
            8-bit) or ``"percentile"`` (each image's ``lower``..``upper`` percentiles -> 0..1,
            clipped).
        lower, upper: percentiles for ``"percentile"``.
        cap_iqr: with ``"percentile"``, keep the window within the first/third quartile
            ∓/± this many interquartile ranges (None: no cap). Robust MR normalisation.
        per_slice: a stack of slices given to a model of a 2D case (a cardiac series)
            is normalised slice by slice, as its 2D training images were.
    """

    method: str = "percentile"
    lower: float = 0.5
    upper: float = 99.5
    cap_iqr: float | None = None
    per_slice: bool = False

    def __post_init__(self) -> None:
        if self.method not in INTENSITY_METHODS:
            raise MedlearnInputError(f"Unknown intensity method {self.method!r}; use one of {INTENSITY_METHODS}.")
        if not 0 <= self.lower < self.upper <= 100:
            raise MedlearnInputError(f"Percentiles {self.lower}..{self.upper} must rise within 0..100.")

    def describe(self) -> str:
        if self.method == "unit":
            return "pixel values divided by their full scale (255 for 8-bit)"
        text = f"each image's {self.lower:g}th-{self.upper:g}th percentiles mapped to 0-1"
        if self.cap_iqr is not None:
            text += f", capped at the quartiles ± {self.cap_iqr:g} IQR"
        return text + (", slice by slice" if self.per_slice else "")


@dataclass(frozen=True)
class Preprocessing:
    """Everything that turns a :class:`~medlearn.data.image.MedImage` into model input.

    Attributes:
        in_channels: 1 (grey model) or 3 (colour model).
        spatial_dims: 2 or 3: the model's own dimensions.
        input_size: side of the model's input per axis (None: the image's own size).
        intensity: see :class:`Intensity`.
        enhance, enhance_params: ``"ace"`` / ``"clahe"`` and its keywords, or None.
        norm: ``{"mean": [C], "std": [C]}`` of the training set after steps 1-4, or None.
        crop: the central fraction of the in-plane field of view the model sees (None: all).
        tile: a 2D segmenter that trained on random ``tile`` x ``tile`` crops of its images at
            ``input_size`` answers the whole image at that size (one pass up to a megapixel,
            sliding windows of the tile's size beyond: :func:`medlearn.tiling.whole_image_logits`);
            None: trained and answered whole.
    """

    in_channels: int
    spatial_dims: int
    input_size: int | None
    intensity: Intensity = field(default_factory=Intensity)
    enhance: str | None = None
    enhance_params: dict = field(default_factory=dict)
    norm: dict | None = None
    crop: float | None = None
    tile: int | None = None

    def __post_init__(self) -> None:
        if self.crop is not None and not 0.1 <= self.crop <= 1.0:
            raise MedlearnInputError(f"A central crop of {self.crop} of the field of view is out of range (0.1-1).")
        if self.tile is not None and not 8 <= self.tile:
            raise MedlearnInputError(f"Tiles of {self.tile} px are too small; use at least 8 px.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Preprocessing":
        d = dict(d)
        d["intensity"] = Intensity(**d.get("intensity", {}))
        return cls(**d)

    def describe(self) -> list[str]:
        """One line per step, in words (the Predict page's "Weights" panel)."""
        lines = [f"{'colour (3 channels)' if self.in_channels == 3 else 'grey (1 channel; colour -> luminance)'}",
                 *([f"the central {self.crop:.0%} of the field of view (region of interest)"] if self.crop else []),
                 f"intensity: {self.intensity.describe()}",
                 f"resized to {self.input_size} px per axis" if self.input_size else "kept at its own size",
                 *([f"trained on random {self.tile} x {self.tile} px tiles; answered whole at this size "
                    "(overlapping sliding windows beyond a megapixel)"] if self.tile else [])]
        if self.enhance:
            lines.insert(0, f"enhanced with {self.enhance.upper()} {self.enhance_params or ''}".rstrip())
        if self.norm:
            mean = ", ".join(f"{m:.3f}" for m in self.norm["mean"])
            std = ", ".join(f"{s:.3f}" for s in self.norm["std"])
            lines.append(f"standardised per channel with the training set's mean ({mean}) and sd ({std})")
        return lines


def percentile_window(values: np.ndarray, spec: Intensity) -> tuple[float, float]:
    """``(low, high)`` of ``spec`` over ``values`` (any shape); a flat image gets width 1."""
    flat = np.asarray(values, np.float32).reshape(-1)
    q = np.percentile(flat, [spec.lower, spec.upper, 25.0, 75.0])
    low, high = float(q[0]), float(q[1])
    if spec.cap_iqr is not None:
        iqr = float(q[3] - q[2])
        low, high = max(low, float(q[2]) - spec.cap_iqr * iqr), min(high, float(q[3]) + spec.cap_iqr * iqr)
    if high <= low:
        low, high = float(flat.min()), float(flat.max())
        high = high if high > low else low + 1.0
    return low, high


def full_scale(pixels: np.ndarray) -> float:
    """What a photograph's values are divided by: the integer type's maximum, 1 for floats in
    [0, 1], else 255 (floats holding 8-bit values)."""
    if pixels.dtype.kind in "ui":
        return float(np.iinfo(pixels.dtype).max)
    return 1.0 if float(np.max(pixels)) <= 1.0 else 255.0


def to_unit(grey_or_rgb: np.ndarray, spec: Intensity, stack: bool) -> np.ndarray:
    """Float32 in [0, 1] by ``spec``; ``stack``: a volume whose slices are normalised one by one."""
    x = np.asarray(grey_or_rgb)
    if spec.method == "unit":
        return np.clip(x.astype(np.float32) / full_scale(x), 0.0, 1.0)
    if stack and spec.per_slice:
        return np.stack([to_unit(s, spec, False) for s in x])
    low, high = percentile_window(x, spec)
    return np.clip((x.astype(np.float32) - np.float32(low)) / np.float32(high - low), 0.0, 1.0)


def crop_box(spatial_shape: tuple[int, ...], fraction: float | None) -> tuple[slice, ...]:
    """The central ``fraction`` of the last two spatial axes as ``(slice_y, slice_x)``, or
    ``()`` for no crop. The same box crops an image, its mask, and places outputs back."""
    if not fraction or fraction >= 1.0:
        return ()
    h, w = spatial_shape[-2:]
    ch, cw = max(1, round(h * fraction)), max(1, round(w * fraction))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return slice(y0, y0 + ch), slice(x0, x0 + cw)


def crop(array: np.ndarray, box: tuple[slice, ...], channel_last: bool = False) -> np.ndarray:
    """``array`` cropped to ``box`` on its last two spatial axes (``channel_last``: the axes
    before a colour axis)."""
    if not box:
        return array
    return array[(Ellipsis, *box, slice(None))] if channel_last else array[(Ellipsis, *box)]


def model_array(image, pre: Preprocessing) -> np.ndarray:
    """Steps 1-3 of the module doc: ``(C, *spatial)`` float32 in [0, 1] for ``image``."""
    from medlearn.train.enhancement import enhance_image

    image = enhance_image(image, pre.enhance, pre.enhance_params)
    pixels = crop(image.pixels, crop_box(image.spatial_shape, pre.crop), channel_last=image.is_rgb)
    stack = image.spatial_dims == 3
    if image.is_rgb and pre.in_channels == 1:
        pixels = pixels[..., :3].astype(np.float32) @ LUMINANCE
    unit = to_unit(pixels, pre.intensity, stack)
    if image.is_rgb and pre.in_channels == 3:
        return np.ascontiguousarray(np.moveaxis(unit, -1, 0), np.float32)
    return np.repeat(unit[None].astype(np.float32, copy=False), pre.in_channels, axis=0)


def prepared_image(image, pre: Preprocessing):
    """``image`` through :func:`model_array` as a MedImage again (channel last for colour,
    same geometry): what the classical baseline's hand-crafted features read, so they see
    the same intensities a network of the case would."""
    x = model_array(image, pre)
    pixels = np.moveaxis(x, 0, -1) if pre.in_channels == 3 and image.is_rgb else x[0]
    return image.with_pixels(np.ascontiguousarray(pixels), window=None, windows=())


SMOOTH_FROM = 1.5
"""Anti-alias an axis shrunk at least this many times. Below it skimage's (and MONAI's) Gaussian,
sigma = (factor - 1) / 2 < 0.25 px, moves a pixel by at most a quarter of a percent of the range
(measured: an IDRiD photograph 1072 -> 768 px, sigma 0.2, largest change 0.0025 of the unit range,
mean 0.00006) while its full-resolution convolution took 80-90 ms of a 2-core answer."""


def resize(x: np.ndarray, size: int | None, spatial_dims: int) -> np.ndarray:
    """Step 4: MONAI ``Resize`` (linear) of ``x`` ``(C, *spatial)`` or ``(B, C, *spatial)`` to
    ``size`` per spatial axis, anti-aliased (MONAI's Gaussian, skimage's sigma) along every axis
    shrunk at least :data:`SMOOTH_FROM` times. A batch is resized item by item with the very
    call training makes for each item (MONAI's smoothing is not bit-identical across batch
    shapes), so a served slice equals its training tensor."""
    spatial = x.shape[x.ndim - spatial_dims:]
    if not size or all(s == size for s in spatial):
        return np.ascontiguousarray(x, np.float32)
    from monai.transforms import Resize

    target = (int(size),) * spatial_dims
    sigma = [(s / size - 1) / 2 if s / size >= SMOOTH_FROM else 0.0 for s in spatial]
    op = Resize(target, mode="bilinear" if spatial_dims == 2 else "trilinear", anti_aliasing=any(sigma),
                anti_aliasing_sigma=sigma)
    x = np.ascontiguousarray(x, np.float32)
    if x.ndim == spatial_dims + 1:
        return np.asarray(op(x), np.float32)
    return np.stack([np.asarray(op(item), np.float32) for item in x])


def standardise(x, norm: dict | None):
    """Step 5 on a torch tensor ``(B, C, *spatial)``: ``(x - mean[c]) / std[c]`` in float32."""
    if not norm:
        return x
    import torch

    view = (1, -1) + (1,) * (x.ndim - 2)
    mean = torch.tensor(norm["mean"], dtype=torch.float32).view(view)
    std = torch.tensor(norm["std"], dtype=torch.float32).view(view)
    return (x - mean) / std


def norm_of(images) -> dict:
    """Per-channel ``{"mean": [C], "std": [C]}`` of a training tensor ``(N, C, *spatial)``
    (std at least 1e-6; 1 for a single item)."""
    import torch

    dims = [0] + list(range(2, images.ndim))
    mean = images.mean(dims)
    std = images.std(dims).clamp_min(1e-6) if len(images) > 1 else torch.ones_like(mean)
    return {"mean": mean.tolist(), "std": std.tolist()}

"""The one image object shared by readers, viewers, models and measurements.

Array conventions (used everywhere in MedLearn):

* 2D grey image: ``(H, W)``; 2D colour image: ``(H, W, 3)`` RGB, channel last.
* 3D volume: ``(Z, Y, X)``, slices first; for a NIfTI reoriented to RAS+ canonical
  this is (superior, anterior, right) reversed into numpy order, see ``io``.
* ``spacing`` follows the array's spatial axes, in millimetres: ``(sy, sx)`` for 2D,
  ``(sz, sy, sx)`` for 3D. ``spacing_known`` says whether those millimetres came from
  the file (or a phantom); when False the spacing is a stand-in 1 mm and sizes are
  reported in pixels.
* ``affine`` (when the file says where the voxels are) is the 4x4 matrix from voxel
  indices of the array *as stored* to world coordinates, RAS+ in mm (NIfTI's world):
  a volume's index vector is ``(z, y, x, 1)``; a 2D image's is ``(y, x, 0, 1)``, the
  third column being the plane's normal (times the slice thickness) so the matrix stays
  invertible. Readers that reorient or transpose set it for the array they return.
* Intensities stay in the modality's own units (Hounsfield units for CT, raw
  signal for MR, 0-255 for photographs), as ``float32`` or the reader's integer type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from medlearn.errors import MedlearnInputError


@dataclass(frozen=True)
class Window:
    """A display window (level/width), as radiologists set it."""

    center: float
    width: float
    name: str = "default"

    @property
    def low(self) -> float:
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        return self.center + self.width / 2


@dataclass
class MedImage:
    """Pixels plus the medical metadata that must travel with them.

    Attributes:
        pixels: ``(H, W)``, ``(H, W, 3)`` or ``(Z, Y, X)`` array (see module doc).
        spacing: millimetres per pixel along each spatial axis.
        modality: DICOM-style code: ``"CT"``, ``"MR"``, ``"US"``, ``"OP"``
            (ophthalmic photograph), ``"SM"`` (slide microscopy), ``"OT"`` (other).
        orientation: axis codes of the spatial axes, e.g. ``"RAS"`` after NIfTI
            reorientation, ``"2D"`` for a plain picture.
        window: the default display window in intensity units.
        windows: named presets (e.g. from the DICOM header or CT lung/mediastinum).
        source: where it came from (file name, dataset and index, or phantom).
        format: the file format that was read (``"png"``, ``"nifti"``, ``"dicom"``...).
        meta: anything else worth showing (never patient identifiers); ``meta["notes"]``
            is a list of sentences about the file a student should read (e.g. a spacing
            that could not be trusted).
        affine: ``(4, 4)`` voxel index -> world (RAS+, mm) of ``pixels`` as stored (see
            module doc), or None when the file has no geometry (pictures, ``.npy``).
        spacing_known: whether ``spacing`` is physical; None in the constructor means
            "known if and only if a spacing was passed".
    """

    pixels: np.ndarray
    spacing: tuple[float, ...] = ()
    modality: str = "OT"
    orientation: str = ""
    window: Window | None = None
    windows: tuple[Window, ...] = ()
    source: str = ""
    format: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    affine: np.ndarray | None = None
    spacing_known: bool | None = None

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels)
        if pixels.size == 0:
            raise MedlearnInputError("The image has no pixels.")
        if pixels.ndim not in (2, 3):
            raise MedlearnInputError(
                f"Expected a 2D image or a 3D volume, got an array with {pixels.ndim} dimensions."
            )
        if pixels.dtype.kind == "f":
            pixels = self._finite(pixels)
        self.pixels = pixels
        if self.spacing_known is None:
            self.spacing_known = bool(self.spacing)
        self.spacing_known = bool(self.spacing_known)
        if not self.spacing:
            self.spacing = (1.0,) * self.spatial_dims
        self.spacing = tuple(float(s) for s in self.spacing)
        if len(self.spacing) != self.spatial_dims:
            raise MedlearnInputError(
                f"Spacing {self.spacing} does not match a {self.spatial_dims}D image."
            )
        if not self.orientation:
            self.orientation = "2D" if self.spatial_dims == 2 else "ZYX"
        if self.affine is not None:
            affine = np.array(self.affine, dtype=np.float64)
            if affine.shape != (4, 4) or not np.isfinite(affine).all():
                raise MedlearnInputError(f"An affine must be a finite 4x4 matrix, got shape {affine.shape}.")
            self.affine = affine
        if self.window is not None and not (np.isfinite(self.window.center) and np.isfinite(self.window.width)):
            self.window = None  # computed from values that were not finite (NaN/inf pixels): from the pixels now
        if self.window is None:
            self.window = default_window(self.pixels if not self.is_rgb else None)

    def _finite(self, pixels: np.ndarray) -> np.ndarray:
        """``pixels`` with NaN and infinite values set to the lowest finite value, and a note
        saying how many (the image is still a teaching image); refused when none is finite."""
        bad = ~np.isfinite(pixels)
        count = int(np.count_nonzero(bad))
        if not count:
            return pixels
        if count == pixels.size:
            raise MedlearnInputError("The image holds no finite values: every pixel is NaN or infinite.")
        fill = pixels.dtype.type(np.min(pixels[~bad]))
        self.add_notes(f"{count:,} pixel(s) were NaN or infinite ({count / pixels.size:.1%} of the image): they "
                       f"are shown and predicted as the image's lowest value, {float(fill):g}.")
        return np.where(bad, fill, pixels)

    def add_notes(self, *notes: str) -> None:
        """Append sentences to ``meta["notes"]`` (in a new dict: ``meta`` may be shared)."""
        if notes:
            self.meta = {**self.meta, "notes": [*self.meta.get("notes", []), *notes]}

    @property
    def is_rgb(self) -> bool:
        """True for a colour picture ``(H, W, 3)`` (never for a volume whose orientation says so)."""
        return (self.pixels.ndim == 3 and self.pixels.shape[-1] == 3 and self.modality in RGB_MODALITIES
                and self.orientation in ("", "2D"))

    @property
    def spatial_dims(self) -> int:
        """2 for pictures (grey or colour), 3 for volumes."""
        if self.pixels.ndim == 2:
            return 2
        return 2 if self.is_rgb else 3

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape[: self.spatial_dims]) if self.is_rgb else tuple(self.pixels.shape)

    def with_pixels(self, pixels: np.ndarray, **changes: Any) -> "MedImage":
        """A copy with new pixels (same geometry unless ``changes`` say otherwise).

        The affine and ``spacing_known`` are copied. A new ``spacing`` (without an explicit
        ``spacing_known``) counts as known; the affine is dropped when it no longer describes
        the array: other spatial shape, or other spacing, unless ``changes`` give one.
        """
        if "spacing" in changes and "spacing_known" not in changes:
            changes["spacing_known"] = bool(changes["spacing"])
        if self.affine is not None and "affine" not in changes:
            same_grid = tuple(np.shape(pixels)[: len(self.spatial_shape)]) == self.spatial_shape
            new_spacing = changes.get("spacing", self.spacing)
            same_spacing = tuple(float(v) for v in new_spacing) == self.spacing
            if not (same_grid and same_spacing):
                changes["affine"] = None
        return replace(self, pixels=pixels, **changes)

    def to_grey(self) -> np.ndarray:
        """Float32 grey pixels (luminance for colour pictures)."""
        if self.is_rgb:
            return self.pixels[..., :3].astype(np.float32) @ LUMINANCE
        return self.pixels.astype(np.float32)

    def windowed(self, window: Window | None = None, part: np.ndarray | None = None) -> np.ndarray:
        """Pixels mapped through a window to float32 in [0, 1] (colour: scaled to [0, 1]).
        ``part``: a piece of ``pixels`` (the slice a viewer shows) mapped by the same rule, so
        a large volume is never copied whole to draw one slice."""
        raw = self.pixels if part is None else np.asarray(part)
        if self.is_rgb:
            p = raw.astype(np.float32)
            hi = 255.0 if self.pixels.dtype == np.uint8 or p.max() > 1.0 else 1.0
            return np.clip(p / hi, 0.0, 1.0)
        w = window or self.window
        return np.clip((raw.astype(np.float32) - w.low) / max(w.width, 1e-6), 0.0, 1.0)

    def reading_notes(self) -> list[str]:
        """What the reader chose, corrected or assumed for this file, in words (grey stored as
        colour, the phase or volume shown, an extension that lied, header values corrected)."""
        meta = self.meta
        notes = [f"The file was {meta['grey']}." if meta.get("grey") else None, meta.get("note"),
                 f"The file is {meta['extension_mismatch']}." if meta.get("extension_mismatch") else None]
        return [str(n) for n in notes if n] + [str(n) for n in meta.get("notes", [])]

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata (what ``python -m medlearn info`` prints)."""
        return {
            "format": self.format,
            "shape": list(self.shape),
            "spatial_dims": self.spatial_dims,
            "rgb": self.is_rgb,
            "spacing_mm": [round(s, 6) for s in self.spacing],
            "spacing_known": self.spacing_known,
            **({"affine": [[round(float(v), 6) for v in row] for row in self.affine]}
               if self.affine is not None else {}),
            "orientation": self.orientation,
            "modality": self.modality,
            "dtype": str(self.pixels.dtype),
            "window": {"center": self.window.center, "width": self.window.width, "name": self.window.name},
            "windows": [{"name": w.name, "center": w.center, "width": w.width} for w in self.windows],
            "min": float(np.min(self.pixels)),
            "max": float(np.max(self.pixels)),
            "source": self.source,
            "notes": self.reading_notes(),
            **({"meta": self.meta} if self.meta else {}),
        }


RGB_MODALITIES = frozenset({"OP", "SM", "XC", "OT", "US"})

LUMINANCE = np.float32([0.299, 0.587, 0.114])
"""Rec. 601 weights of R, G, B: a colour picture's grey value, wherever one is needed."""


def default_window(pixels: np.ndarray | None) -> Window:
    """A robust window from the 0.5th-99.5th percentiles (full range for colour)."""
    if pixels is None:
        return Window(127.5, 255.0, "full")
    sample = pixels if pixels.size <= 1_000_000 else pixels.reshape(-1)[:: pixels.size // 1_000_000 + 1]
    lo, hi = np.percentile(sample.astype(np.float32), [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max()) + 1.0
    return Window(float((lo + hi) / 2), float(hi - lo), "auto")


def downsampled(image: MedImage, max_values: int) -> MedImage:
    """``image`` itself when it has at most ``max_values`` pixels or voxels, else a copy
    resampled by one factor along every spatial axis (linear, anti-aliased; the file's own data
    type kept) to fit, its voxel size scaled to match (physical measurements stay right) and a
    note saying so. The affine is dropped (it described the original grid)."""
    from skimage.transform import resize

    values = int(np.prod(image.spatial_shape))
    if values <= max_values:
        return image
    factor = (values / max_values) ** (1.0 / image.spatial_dims)
    shape = tuple(max(1, int(s / factor)) for s in image.spatial_shape)
    channels = image.shape[len(shape):]
    pixels = resize(image.pixels.astype(np.float32), shape + channels, order=1, anti_aliasing=True,
                    preserve_range=True)
    if image.pixels.dtype.kind in "iub":
        info = np.iinfo(image.pixels.dtype) if image.pixels.dtype.kind != "b" else None
        pixels = np.rint(pixels)
        pixels = (np.clip(pixels, info.min, info.max) if info else pixels).astype(image.pixels.dtype)
    spacing = tuple(sp * old / new for sp, old, new in zip(image.spacing, image.spatial_shape, shape))
    kept = image.with_pixels(pixels, spacing=spacing, spacing_known=image.spacing_known)
    kept.add_notes(f"Kept at {' x '.join(map(str, shape))} (the file is {' x '.join(map(str, image.spatial_shape))}) "
                   "so that each session holds a bounded copy; "
                   + (f"the voxel size is now {' x '.join(f'{v:.3g}' for v in spacing)} mm and every "
                      "measurement uses it." if image.spacing_known else "the file gives no physical size."))
    return kept


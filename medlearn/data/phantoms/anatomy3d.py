"""Shared helpers of the lung, hippocampus and heart phantoms (any number of dimensions).

Written here rather than taken from a library: the pieces are tiny numpy/scipy
expressions (smooth random fields, partial-volume edges, tubes, Rician noise, bias
fields) that no imaging library exposes as a vectorised phantom primitive; the heavy
lifting (filtering) is ``scipy.ndimage``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy import ndimage

from medlearn.data.phantoms.base import ParamSpec
from medlearn.errors import MedlearnInputError


def grid_mm(shape: tuple[int, ...], spacing: tuple[float, ...]) -> list[np.ndarray]:
    """Open (broadcastable) coordinate grids in mm, origin at the array centre.

    Returns:
        one array per axis, shaped ``(n, 1, 1)``, ``(1, n, 1)``, ... .
    """
    axes = [(np.arange(n, dtype=np.float32) - (n - 1) / 2) * s for n, s in zip(shape, spacing)]
    return list(np.ix_(*axes))


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit std (float32)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma_vox, mode="wrap")
    return (field - field.mean()) / max(float(field.std()), 1e-6)


def coarse_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: float) -> np.ndarray:
    """A smooth unit-std field drawn on a coarse grid and upsampled linearly (fast for large sigma)."""
    factor = max(1, int(sigma_vox // 2))
    small = tuple(max(4, -(-n // factor)) for n in shape)
    field = smooth_field(rng, small, max(sigma_vox / factor, 0.7))
    for axis, (n, m) in enumerate(zip(shape, small)):  # separable linear interpolation (no BLAS threads)
        pos = np.linspace(0, m - 1, n)
        lo = np.minimum(pos.astype(int), m - 2)
        frac = (pos - lo).astype(np.float32).reshape([-1 if a == axis else 1 for a in range(field.ndim)])
        field = field.take(lo, axis) * (1 - frac) + field.take(lo + 1, axis) * frac
    return np.ascontiguousarray(field, dtype=np.float32)


def soft_inside(signed_distance: np.ndarray, edge: float) -> np.ndarray:
    """Partial-volume occupancy in [0, 1] of a surface (negative distance = inside).

    Args:
        signed_distance: distance to the surface in the same units as ``edge``.
        edge: width of the ramp (about one voxel).
    """
    return np.clip(0.5 - signed_distance / edge, 0.0, 1.0).astype(np.float32)


def add_tube(occ: np.ndarray, spacing: tuple[float, ...], p0: np.ndarray, p1: np.ndarray,
             r0: float, r1: float) -> None:
    """Max-composite a tapering tube (capsule) from ``p0`` to ``p1`` (mm, array-centred) into ``occ``.

    Only the tube's bounding box is visited, so many short segments stay cheap.
    """
    spacing_a = np.asarray(spacing, np.float32)
    centre = (np.asarray(occ.shape, np.float32) - 1) / 2
    lo_mm = np.minimum(p0, p1) - max(r0, r1) - 1.5 * spacing_a
    hi_mm = np.maximum(p0, p1) + max(r0, r1) + 1.5 * spacing_a
    lo = np.maximum(np.floor(lo_mm / spacing_a + centre).astype(int), 0)
    hi = np.minimum(np.ceil(hi_mm / spacing_a + centre).astype(int) + 1, occ.shape)
    if np.any(hi <= lo):
        return
    axes = [((np.arange(a, b, dtype=np.float32) - c) * s) for a, b, c, s in zip(lo, hi, centre, spacing_a)]
    pts = np.ix_(*axes)
    seg = (p1 - p0).astype(np.float32)
    length2 = max(float(seg @ seg), 1e-6)
    t = sum((pts[i] - p0[i]) * seg[i] for i in range(len(pts))) / length2
    t = np.clip(t, 0.0, 1.0)
    dist = np.sqrt(sum((pts[i] - (p0[i] + t * seg[i])) ** 2 for i in range(len(pts))))
    radius = r0 + (r1 - r0) * t
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    np.maximum(occ[box], soft_inside(dist - radius, float(spacing_a.min())), out=occ[box])


def bias_field(rng: np.random.Generator, grids: list[np.ndarray], strength: float) -> np.ndarray:
    """Smooth multiplicative coil bias ``exp(linear + quadratic terms)``, about ``1 ± strength``."""
    extent = [max(float(np.abs(g).max()), 1e-6) for g in grids]
    u = [g / e for g, e in zip(grids, extent)]
    log_b = sum(rng.uniform(-1, 1) * ui for ui in u) + 0.5 * sum(rng.uniform(-1, 1) * ui * ui for ui in u)
    return np.exp(strength * log_b).astype(np.float32)


def rician(rng: np.random.Generator, signal: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of a complex signal with Gaussian noise in both channels (MR noise)."""
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag).astype(np.float32)


def random_unit(rng: np.random.Generator, n: int, dims: int = 3) -> np.ndarray:
    """``(n, dims)`` random unit vectors."""
    v = rng.standard_normal((n, dims))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fibonacci_sphere(n: int) -> np.ndarray:
    """``(n, 3)`` nearly uniform unit vectors (z, y, x) for quadrature over the sphere."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = math.pi * (1 + 5 ** 0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([z, r * np.sin(phi), r * np.cos(phi)], axis=1)


class ParamResolver:
    """Takes user-given parameters (validated against the specs) or draws them.

    Every resolved value lands in :attr:`drawn`, which becomes ``Phantom.params``.
    """

    def __init__(self, case: str, specs: tuple[ParamSpec, ...], given: dict[str, Any]) -> None:
        self.case = case
        self.specs = {s.name: s for s in specs}
        unknown = sorted(set(given) - set(self.specs))
        if unknown:
            raise MedlearnInputError(
                f"Unknown parameter(s) {', '.join(unknown)} for the {case} phantom; "
                f"known: {', '.join(self.specs)}."
            )
        self.given = {k: v for k, v in given.items() if v is not None}
        self.drawn: dict[str, Any] = {}

    def get(self, name: str, draw: Callable[[], Any]) -> Any:
        """The user's value for ``name`` if given (checked), else ``draw()``; recorded."""
        spec = self.specs[name]
        value = self._check(spec, self.given[name]) if name in self.given else draw()
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        self.drawn[name] = value
        return value

    def _check(self, spec: ParamSpec, value: Any) -> Any:
        if spec.choices:
            if value not in spec.choices:
                raise MedlearnInputError(
                    f"{spec.label} must be one of {', '.join(spec.choices)} (got {value!r})."
                )
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise MedlearnInputError(f"{spec.label} must be a number (got {value!r}).") from None
        if not (spec.minimum <= number <= spec.maximum):
            raise MedlearnInputError(
                f"{spec.label} must lie between {spec.minimum:g} and {spec.maximum:g} (got {number:g})."
            )
        return number


def check_common(difficulty: float, size: int, minimum: int, maximum: int = 256) -> tuple[float, int]:
    """Validate the difficulty (0..1) and the size in voxels, with student-readable errors."""
    try:
        difficulty, size_f = float(difficulty), float(size)
    except (TypeError, ValueError):
        raise MedlearnInputError("Difficulty and size must be numbers.") from None
    if not 0.0 <= difficulty <= 1.0:
        raise MedlearnInputError(f"Difficulty must lie between 0 and 1 (got {difficulty:g}).")
    if size_f != int(size_f) or not minimum <= size_f <= maximum:
        raise MedlearnInputError(f"Size must be a whole number of pixels from {minimum} to {maximum} (got {size}).")
    return difficulty, int(size_f)


def vessel_tree(rng: np.random.Generator, shape: tuple[int, ...], spacing: tuple[float, ...],
                density: float = 0.5) -> np.ndarray:
    """Occupancy ``shape`` of a branching, tapering vessel tree (lung arteries and veins).

    Roots enter at the side facing the hilum and branch dichotomously (Murray-like
    radius ratio 0.7-0.8, 20-40 degrees) until the radius drops below 0.35 mm.
    """
    occ = np.zeros(shape, np.float32)
    extent = np.asarray(shape) * np.asarray(spacing)
    flow = random_unit(rng, 1)[0]
    stack = []
    for _ in range(int(rng.integers(4, 6 + int(5 * density)))):
        direction = (flow + 0.9 * random_unit(rng, 1)[0]) * np.array([0.5, 1.0, 1.0])  # mostly in-plane
        start = rng.uniform(-0.5, 0.5, 3) * extent - direction / np.linalg.norm(direction) * 0.5 * extent.max()
        stack.append((start.astype(np.float32), direction, rng.uniform(0.8, 2.2), 0))
    while stack:
        p0, direction, radius, depth = stack.pop()
        direction = direction / np.linalg.norm(direction)
        length = rng.uniform(5.0, 12.0) * (0.6 + radius / 2.5)
        p1 = (p0 + direction * length).astype(np.float32)
        r1 = radius * rng.uniform(0.85, 0.95)
        add_tube(occ, spacing, p0, p1, radius, r1)
        if r1 < 0.4 or depth > 7 or np.any(np.abs(p1) > 0.75 * extent):
            continue
        for ratio in (rng.uniform(0.75, 0.85), rng.uniform(0.55, 0.8)):
            bend = direction + np.tan(np.radians(rng.uniform(20, 45))) * random_unit(rng, 1)[0] * [0.5, 1, 1]
            stack.append((p1, bend, r1 * ratio, depth + 1))
    return occ

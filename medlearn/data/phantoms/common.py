"""Vectorised drawing helpers shared by the 2D phantom generators.

Why our own code: scikit-image draws hard-edged primitives one at a time, while
phantoms need thousands of soft, anti-aliased shapes (nuclei, vessels, lesions) per
image within a few milliseconds. The trick used throughout is a Voronoi partition
(``scipy.ndimage.distance_transform_edt`` with ``return_indices``): every pixel is
given its nearest seed point at once, then a shape test per pixel decides coverage.
No per-pixel Python loops; random paths (vessel centre lines) grow many at a time.

All sizes are in pixels here; the generators convert from millimetres.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi
from scipy.fft import irfft2, next_fast_len


@functools.lru_cache(maxsize=64)
def _fft_plan(shape: tuple[int, int], sigmas: tuple[tuple[float, float], ...],
              weights: tuple[float, ...] = (1.0,)) -> tuple:
    """Padded size, kept low-frequency rows/columns and the transfer function there.

    One ``(sy, sx)`` in ``sigmas``: a Gaussian's transfer function. Several: the field is a
    sum of independent octaves of unit variance weighted by ``weights``, which is one
    Gaussian field whose power spectrum is the weighted sum of theirs (each octave's
    power normalised over the kept coefficients). The canvas is padded for the widest
    octave and keeps the coefficients the narrowest one needs.
    Depends only on the shape and the σs, which a generator keeps from case to case at
    one image size: cached, so a batch pays for it once (read-only arrays).
    """
    (sy, sx), (ly, lx) = np.max(sigmas, axis=0), np.min(sigmas, axis=0)
    size = tuple(next_fast_len(n + int(3 * s) + 1, real=True) for n, s in zip(shape, (float(sy), float(sx))))
    ky = max(1, min(int(0.6 / ly * size[0]) + 1, (size[0] - 1) // 2))
    kx = max(1, min(int(0.6 / lx * size[1]) + 1, size[1] // 2))
    rows = np.r_[0 : ky + 1, size[0] - ky : size[0]]
    fy = np.where(rows > size[0] // 2, rows - size[0], rows).astype(np.float32)[:, None] / size[0]
    fx = np.arange(kx + 1, dtype=np.float32)[None, :] / size[1]
    gains = [np.exp(-2 * np.pi**2 * ((gy * fy) ** 2 + (gx * fx) ** 2)) for gy, gx in sigmas]
    gain = gains[0]
    if len(gains) > 1:
        mirrored = np.where(fx > 0, 2.0, 1.0)  # a half-spectrum column stands for two coefficients
        power = sum(w * w * g * g / float((g * g * mirrored).sum()) for w, g in zip(weights, gains))
        gain = np.sqrt(power).astype(np.float32)
    gain.flags.writeable = False
    return size, ky, kx, gain


def _gaussian_noise_fft(rng: np.random.Generator, shape: tuple[int, int], sy: float, sx: float,
                        octaves: tuple = (), weights: tuple = (1.0,)) -> np.ndarray:
    """White noise blurred by a Gaussian ``(sy, sx)`` px, drawn in Fourier space.

    Random complex coefficients are drawn only where the Gaussian's transfer function
    is not negligible (above 1e-3), then one inverse FFT makes the field; the canvas is
    padded by 3σ so the field does not wrap around. Costs about one small FFT whatever σ.
    ``octaves`` (more ``(sy, sx)``) and ``weights`` draw a weighted sum of such fields in
    the same single FFT (see :func:`_fft_plan`).
    """
    size, ky, kx, gain = _fft_plan(tuple(shape), ((float(sy), float(sx)), *octaves), tuple(weights))
    coef = rng.standard_normal((2, gain.shape[0], kx + 1), dtype=np.float32)
    coef *= gain
    spectrum = np.zeros((size[0], size[1] // 2 + 1), np.complex64)
    for part, c in ((spectrum.real, coef[0]), (spectrum.imag, coef[1])):  # low rows, then high ones
        part[: ky + 1, : kx + 1] = c[: ky + 1]
        part[size[0] - ky :, : kx + 1] = c[ky + 1 :]
    return irfft2(spectrum, s=size)[: shape[0], : shape[1]].astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float,
                 aspect: float = 1.0) -> np.ndarray:
    """Band-limited Gaussian noise of zero mean and unit variance.

    White noise blurred by a Gaussian: of ``scale`` px directly when that is short
    (≤ 3 px), else of ``0.6 * scale`` px in Fourier space (the correlation length the
    coarse-lattice-and-zoom method used before gave; the FFT costs the same for every
    ``scale`` and uses no multi-threaded BLAS, which stalls on a busy machine).

    Args:
        shape: ``(H, W)``.
        scale: correlation length in pixels along rows (y).
        aspect: correlation length along x divided by the one along y.

    Returns:
        float32 ``(H, W)`` field.
    """
    sy, sx = max(scale, 0.3), max(scale * aspect, 0.3)
    if max(sy, sx) <= 3.0:
        field = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), (sy, sx))
    else:
        field = _gaussian_noise_fft(rng, shape, 0.6 * sy, 0.6 * sx)
    return ((field - field.mean()) / (field.std() + 1e-8)).astype(np.float32)


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], scales, gains) -> np.ndarray:
    """Sum of :func:`smooth_noise` octaves, each weighted by its gain (unit variance).

    The octaves are independent Gaussian fields, so their sum is drawn as one field
    whose spectrum is the gain-weighted sum of theirs: one inverse FFT for all octaves.
    """
    sigmas = [max(s, 0.3) if max(s, 0.3) <= 3.0 else 0.6 * s for s in scales]  # as smooth_noise picks them
    field = _gaussian_noise_fft(rng, shape, sigmas[0], sigmas[0], tuple((s, s) for s in sigmas[1:]),
                                tuple(float(g) for g in gains))
    return ((field - field.mean()) / (field.std() + 1e-8)).astype(np.float32)


def speckle(rng: np.random.Generator, shape: tuple[int, int], sigma_axial: float,
            sigma_lateral: float, reflectivity: np.ndarray | None = None) -> np.ndarray:
    """Ultrasound envelope: random scatterers imaged through a point-spread function.

    Complex Gaussian scatterers (amplitude ``sqrt(reflectivity)``) are blurred by an
    anisotropic Gaussian PSF (axial along rows, lateral along columns); the magnitude
    is Rayleigh distributed in uniform tissue (fully developed speckle) and edges
    blur the way the beam blurs them.

    Returns:
        float32 ``(H, W)`` envelope, unit mean square where ``reflectivity`` is 1.
    """
    re = rng.standard_normal(shape, dtype=np.float32)
    im = rng.standard_normal(shape, dtype=np.float32)
    if reflectivity is not None:
        amp = np.sqrt(np.maximum(reflectivity, 0)).astype(np.float32)
        re, im = re * amp, im * amp
    re = ndi.gaussian_filter(re, (sigma_axial, sigma_lateral))
    im = ndi.gaussian_filter(im, (sigma_axial, sigma_lateral))
    gain = np.sqrt(2 * np.pi * sigma_axial * sigma_lateral * 2)  # undo the PSF's energy loss
    return (np.hypot(re, im) * gain / np.sqrt(2)).astype(np.float32)


def contour_harmonics(rng: np.random.Generator, n: int, irregularity: float, n_harmonics: int = 6,
                      decay: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Random smooth closed contours ``r(θ) = 1 + Σ a_k cos(kθ + φ_k)``, k = 2..K+1.

    Returns:
        ``(amplitudes, phases)``, each ``(n, K)``.
    """
    k = np.arange(2, n_harmonics + 2, dtype=np.float32)
    amps = irregularity * rng.standard_normal((n, n_harmonics)).astype(np.float32) / k**decay
    phases = rng.uniform(0, 2 * np.pi, (n, n_harmonics)).astype(np.float32)
    return amps, phases


def contour_radius(theta: np.ndarray, amps: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Evaluate ``r(θ)`` (relative radius) for per-pixel ``theta`` and matching coefficients.

    ``theta`` has shape ``S``; ``amps``/``phases`` have shape ``S + (K,)`` or ``(K,)``.
    """
    k = np.arange(2, amps.shape[-1] + 2, dtype=np.float32)
    return np.maximum(1.0 + np.sum(amps * np.cos(theta[..., None] * k + phases), axis=-1), 0.2)


def blob_field(shape: tuple[int, int], center, radius_y: float, radius_x: float, angle: float = 0.0,
               amps: np.ndarray | None = None, phases: np.ndarray | None = None) -> np.ndarray:
    """Normalised radius of a rotated, perturbed ellipse: < 1 inside, 1 on the edge.

    Args:
        center: ``(y, x)`` in pixels; radii in pixels; ``angle`` in radians (x towards y).
        amps, phases: ``(K,)`` contour harmonics (see :func:`contour_harmonics`).

    Returns:
        float32 ``(H, W)``; multiply ``(1 - field)`` by a radius for a signed distance.
    """
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    dy, dx = yy - center[0], xx - center[1]
    c, s = np.cos(angle), np.sin(angle)
    u, v = (dx * c + dy * s) / radius_x, (-dx * s + dy * c) / radius_y
    r = np.sqrt(u * u + v * v).astype(np.float32)
    if amps is not None:
        r = r / contour_radius(np.arctan2(v, u).astype(np.float32), amps, phases)
    return r


def nearest_seed(shape: tuple[int, int], points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi partition: the index of the nearest seed and the offset to it, per pixel.

    Args:
        points: ``(N, 2)`` sub-pixel ``(y, x)`` seeds (outside ones are dropped).

    Returns:
        ``idx`` int ``(H, W)`` (-1 when there are no seeds) and ``offset`` float32
        ``(2, H, W)`` = pixel − seed.
    """
    h, w = shape
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    iy, ix = np.rint(pts[:, 0]).astype(np.intp), np.rint(pts[:, 1]).astype(np.intp)
    keep = np.flatnonzero((iy >= 0) & (iy < h) & (ix >= 0) & (ix < w))
    if keep.size == 0:
        return np.full(shape, -1, np.int32), np.full((2, h, w), 1e6, np.float32)
    seeds = np.full(shape, -1, np.int32)  # int32 indices: half the memory traffic of int64
    seeds[iy[keep], ix[keep]] = keep
    ny, nx = ndi.distance_transform_edt(seeds < 0, return_distances=False, return_indices=True)
    idx = seeds[ny, nx]
    offset = np.empty((2, h, w), np.float32)  # float32 differences: exact before rounding, as in float64
    np.subtract(np.arange(h, dtype=np.float32)[:, None], pts[:, 0].take(idx), out=offset[0])
    np.subtract(np.arange(w, dtype=np.float32)[None, :], pts[:, 1].take(idx), out=offset[1])
    return idx, offset


def ellipses(shape: tuple[int, int], centers: np.ndarray, a: np.ndarray, b: np.ndarray,
             theta: np.ndarray, soft=0.7) -> tuple[np.ndarray, np.ndarray]:
    """Many soft ellipses at once (each clipped to its Voronoi cell).

    Args:
        centers: ``(N, 2)`` ``(y, x)``; ``a``, ``b``: semi-axes ``(N,)`` in pixels along and
            across the direction ``theta`` ``(N,)``; ``soft``: edge width in pixels (scalar
            or ``(N,)``).

    Returns:
        ``coverage`` float32 ``(H, W)`` in [0, 1] and the nearest-ellipse index ``(H, W)``.
    """
    if len(centers) == 0:
        return np.zeros(shape, np.float32), np.full(shape, -1, np.int32)
    idx, (dy, dx) = nearest_seed(shape, centers)
    c, s = np.cos(theta)[idx], np.sin(theta)[idx]
    aa, bb = a[idx], b[idx]
    q = np.sqrt(((dx * c + dy * s) / aa) ** 2 + ((-dx * s + dy * c) / bb) ** 2)
    soft = np.broadcast_to(np.asarray(soft, np.float32), (len(a),))[idx]
    cover = np.clip((1.0 - q) * np.minimum(aa, bb) / soft + 0.5, 0.0, 1.0) * np.clip(2 * np.minimum(aa, bb), 0, 1)
    return cover.astype(np.float32), idx


def uniform_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance noise from uniform draws, float32.

    Four times cheaper than ``standard_normal`` here (about 2 ns a value against 9);
    use it where the noise is smoothed or summed afterwards, so that its sum over many
    draws is Gaussian anyway (central limit), or where the shape of the distribution
    does not show.
    """
    u = rng.random(shape, dtype=np.float32)
    u -= np.float32(0.5)
    u *= np.float32(np.sqrt(12.0))
    return u


_SMOOTH = np.exp(-0.5 * (np.arange(-12, 13) / 4.0) ** 2)
_SMOOTH = (_SMOOTH / _SMOOTH.sum()).astype(np.float32)  # gaussian_filter1d(sigma=4)'s kernel


def walks(rng: np.random.Generator, starts, angles, lengths, step: float = 0.5, curvature=0.0,
          curvature_decay=np.inf, wiggle=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Many smooth random paths (vessel centre lines) at once: heading drifts by
    curvature plus smoothed noise.

    Args:
        starts: ``(N, 2)`` ``(y, x)``; angles: ``(N,)`` initial headings (radians, 0 = +x,
            π/2 = +y); lengths: ``(N,)`` path lengths in pixels.
        curvature: radians per pixel ``(N,)`` or scalar, decaying with e-folding length
            ``curvature_decay`` (``(N,)`` or scalar); wiggle: heading noise, about
            ``wiggle * 3 * sqrt(length)`` radians of drift over a path (divide by √(px per
            mm) to keep it the same at every resolution).

    Returns:
        ``points`` float32 ``(N, M, 2)`` ``(y, x)`` spaced ``step`` apart, padded to the
        longest path, and ``counts`` ``(N,)``: path ``i`` is ``points[i, :counts[i]]``.
    """
    starts = np.asarray(starts, np.float32).reshape(-1, 2)
    k = len(starts)
    if k == 0:
        return np.zeros((0, 2, 2), np.float32), np.zeros(0, int)
    counts = np.maximum((np.broadcast_to(lengths, (k,)) / step).astype(int), 2)
    n = int(counts.max())
    s = np.arange(n, dtype=np.float32) * step
    col = lambda v: np.asarray(v, np.float32).reshape(-1, 1)  # noqa: E731  (k, 1) or (1, 1): broadcasts
    decay = col(curvature_decay)
    turn = col(curvature) * step * (np.exp(-s / decay) if np.isfinite(decay).any() else np.float32(1))
    noise = ndi.correlate1d(uniform_noise(rng, (k, n + 24)), _SMOOTH, axis=1)[:, 12:n + 12]
    heading = np.cumsum(turn + noise * (col(wiggle) * np.float32(np.sqrt(step) * 3)), axis=1)
    heading += col(angles)
    pts = np.empty((k, n, 2), np.float32)  # unit steps (sin, cos), summed along each path in place
    np.sin(heading, out=pts[..., 0])
    np.cos(heading, out=pts[..., 1])
    np.cumsum(pts, axis=1, out=pts)
    pts *= np.float32(step)
    pts += starts[:, None, :]
    return pts, counts


def tubes(shape: tuple[int, int], points: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Render centre-line points with per-point radius as soft tubes.

    Args:
        points: ``(M, 2)`` ``(y, x)`` densely sampled (≤ 0.5 px apart); radii ``(M,)`` px.

    Returns:
        ``alpha`` float32 ``(H, W)`` (≈ area coverage, sub-pixel vessels fade) and the
        nearest-point index ``(H, W)`` (-1 when there are no points).
    """
    if len(points) == 0:
        return np.zeros(shape, np.float32), np.full(shape, -1, np.int32)
    order = np.argsort(radii, kind="stable")  # thick vessels win shared pixels
    idx, (dy, dx) = nearest_seed(shape, points[order])
    if idx.flat[0] < 0:  # every point off the canvas (nearest_seed marks all pixels or none)
        return np.zeros(shape, np.float32), idx
    idx = order.take(idx)
    r = radii.take(idx)
    alpha = np.clip(r + 0.5 - np.hypot(dy, dx), 0.0, 1.0) * np.clip(2.0 * r, 0.0, 1.0)
    return alpha.astype(np.float32, copy=False), idx


def soft_disk(shape: tuple[int, int], center, radius: float, edge: float = 1.0) -> np.ndarray:
    """A disk with a linear edge ``edge`` pixels wide (float32 in [0, 1])."""
    yy = np.arange(shape[0], dtype=np.float32)[:, None] - np.float32(center[0])
    xx = np.arange(shape[1], dtype=np.float32)[None, :] - np.float32(center[1])
    d = np.sqrt(yy * yy + xx * xx)
    return np.clip((np.float32(radius) - d) * np.float32(1 / max(edge, 1e-3)) + np.float32(0.5), 0.0, 1.0)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 255] and round to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)

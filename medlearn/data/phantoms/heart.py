"""Short-axis cine MRI phantom of the left ventricle (bright-blood SSFP), like Sunnybrook.

Geometry: the LV cavity is a half-ellipsoid from the base (z = 0) to the apex (z = L);
its radius at depth z is ``R sqrt(1 - (z/L)^2)`` times a mild ellipticity. The
epicardium adds the wall thickness (thinner towards the apex); myocardial area is
conserved per angle through the cycle, so the wall thickens in systole. Variants:
normal, dilated (large, thin, poor EF), hypertrophic (thick wall, small cavity, high EF)
and infarct (a thinned akinetic sector that keeps its end-diastolic position).
Every volume is analytic: ``V = sum over slices of (1/2 int r(theta)^2 dtheta) x slice
spacing`` (Simpson's method of discs on the exact contours), so the same sum over mask
areas reproduces EDV, ESV and EF up to pixelisation. Mass = myocardial volume x 1.05 g/ml.

Around the heart: the RV crescent (bright blood) on the septal side, epicardial fat
(bright), diaphragm and liver against the inferior wall (as grey as myocardium), lungs
(dark), chest wall muscle and subcutaneous fat in an uneven body (lumpy outline, fat
thicker on one side, often a back flattened by the table), liver towards the apex,
descending aorta and spine; papillary muscles are dark dots inside the cavity (labelled
cavity, as in the Sunnybrook contours), a jagged fringe of trabeculae along the
endocardium and mild flow inhomogeneity in the blood pool. Tissue texture, the
surface-coil fall-off from the anterior chest wall (plus a random bias field), slice
partial volume (blur), Rician noise, and often the scanner's circular field of view.
Mask: 0 background, 1 LV cavity, 2 myocardium. Arrays ``(phases, slices, H, W)``.
Difficulty (images only; masks and volumes do not depend on it): wider blur, stronger
bias field, more noise, deeper trabeculae and a wider sector where the inferior wall
meets the grey diaphragm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from medlearn.data.image import MedImage, Window
from medlearn.data.phantoms import anatomy3d as a3
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator
from medlearn.errors import MedlearnInputError

FOV_MM, SLICE_MM, N_THETA = 350.0, 10.0, 360
THETA = np.linspace(0, 2 * np.pi, N_THETA, endpoint=False)


def _wrap(angle: np.ndarray) -> np.ndarray:
    """An ``arctan2`` angle in [-pi, pi] moved to [0, 2 pi) (``np.mod`` on float32 is ~10x slower)."""
    return np.where(angle < 0, angle + np.float32(2 * np.pi), angle)


def _norm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sqrt(a² + b²)``: ``np.hypot``'s overflow care costs 6x and distances in mm need none."""
    return np.sqrt(a * a + b * b)


class _AngleLookup:
    """Periodic linear interpolation of tables sampled at :data:`THETA`, for many pixels.

    The pixels' angles are turned into table positions once; each table is then read with
    three array operations (``np.interp(..., period=)`` sorts and wraps on every call, and
    a frame reads five tables at the same angles).
    """

    def __init__(self, angle: np.ndarray) -> None:
        pos = _wrap(angle) * (N_THETA / (2 * np.pi))
        self.i0 = np.minimum(pos.astype(np.int32), N_THETA - 1)
        self.i1 = (self.i0 + 1) % N_THETA
        self.frac = (pos - self.i0).astype(np.float32)

    def __call__(self, table: np.ndarray) -> np.ndarray:
        t = np.asarray(table, np.float32)
        return t[self.i0] + (t[self.i1] - t[self.i0]) * self.frac
# SSFP signal, scaled so blood = 500; ratios from Sunnybrook (blood / myocardium about 3,
# subcutaneous fat near the surface coil the brightest tissue, lungs and air near zero)
BLOOD, MYO, FAT, LIVER, MUSCLE, LUNG, AIR = 500.0, 140.0, 560.0, 165.0, 150.0, 18.0, 3.0
VARIANTS = {  # EDV ml (mean, sd), EF % (mean, sd), wall mm (low, high); Sunnybrook group means
    "normal": ((115, 15), (63, 4), (7, 10)),
    "dilated": ((250, 40), (28, 8), (6, 8)),
    "hypertrophic": ((105, 15), (70, 5), (13, 20)),
    "infarct": ((245, 45), (32, 12), (7, 10)),
}

PARAMS = (
    ParamSpec("variant", "Variant", choices=tuple(VARIANTS)),
    ParamSpec("edv_ml", "End-diastolic volume (ml)", 60.0, 400.0, None, 5.0),
    ParamSpec("ef_percent", "Target ejection fraction (%)", 10.0, 80.0, None, 1.0),
    ParamSpec("wall_mm", "Wall thickness at end-diastole (mm)", 5.0, 22.0, None, 0.5),
    ParamSpec("slice_index", "Slice (0 = base)", 0, 9, None, 1, "2D phantoms only."),
    ParamSpec("phase_index", "Cardiac phase (0 = end-diastole)", 0, 19, None, 1, "2D phantoms only."),
)


@dataclass
class Cine:
    """A short-axis cine stack with exact ground truth.

    Attributes:
        images: ``(phases, slices, H, W)`` float32 MR signal; slices run base -> apex.
        masks: same shape, uint8: 0 background, 1 LV cavity, 2 myocardium.
        spacing: ``(slice_mm, row_mm, col_mm)``.
        ed_phase, es_phase: indices of end-diastole and end-systole.
        edv_ml, esv_ml, ef_percent, stroke_volume_ml, myocardial_mass_g: analytic values.
        variant: "normal", "dilated", "hypertrophic" or "infarct".
        params: every drawn parameter (JSON-ready).
    """

    images: np.ndarray
    masks: np.ndarray
    spacing: tuple[float, float, float]
    ed_phase: int
    es_phase: int
    edv_ml: float
    esv_ml: float
    ef_percent: float
    stroke_volume_ml: float
    myocardial_mass_g: float
    variant: str
    params: dict = field(default_factory=dict)

    def mask_volumes_ml(self) -> np.ndarray:
        """Cavity volume of every phase from the masks by Simpson's method, ``(phases,)``."""
        voxel_ml = float(np.prod(self.spacing)) / 1000.0
        return (self.masks == 1).sum(axis=(1, 2, 3)) * voxel_ml

    def slice_image(self, phase: int, slice_: int) -> MedImage:
        """One frame as a 2D MedImage with the cine's pixel spacing."""
        return _medimage(self.images[phase, slice_], self.spacing[1:], f"cine:p{phase}:s{slice_}")


class _Heart:
    """Analytic LV contours: ``contours(k, f)`` gives endo/epi radii ``(N_THETA,)`` in mm."""

    def __init__(self, rng: np.random.Generator, variant: str, edv: float, ef: float, wall: float,
                 n_slices: int) -> None:
        self.variant, self.ef_target = variant, ef
        self.wall = wall
        self.z = rng.uniform(2.0, 6.0) + SLICE_MM * np.arange(n_slices)
        self.l_ed = 85.0 * (edv / 115.0) ** (1 / 3) * rng.uniform(0.95, 1.05)
        self.l_es = self.l_ed * (1 - 0.2 * ef / 100)
        self.shape = 1 + rng.uniform(0, 0.08) * np.cos(2 * (THETA - rng.uniform(0, np.pi)))
        self.s = np.zeros((n_slices, N_THETA))
        if variant == "infarct":
            half, centre, start = rng.uniform(0.6, 1.0), rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.4)
            ang = np.clip((np.cos(THETA - centre) - math.cos(half)) / (1 - math.cos(half)) * 3, 0, 1)
            self.s = ang[None] * np.clip((self.z[:, None] / self.l_ed - start) / 0.1, 0, 1)
        self.w = wall * (1 - 0.5 * self.s)
        unit = self.shape[None] * _g(self.z, self.l_ed)[:, None]
        self.r_ed = math.sqrt(edv * 1000 / _volume(unit)) if _volume(unit) > 0 else 0.0
        self.endo_ed = self.r_ed * unit
        epi_g = _g(self.z, self.l_ed + 0.8 * wall)[:, None]
        self.epi_ed = (self.r_ed * self.shape[None] + self.w) * epi_g
        a = self.shape[None] * _g(self.z, self.l_es)[:, None] * (1 - self.s)
        b = self.s * self.endo_ed
        self.r_es = _solve_quadratic(a, b, edv * 1000 * (1 - ef / 100), lower=0.25 * self.r_ed)
        self.endo_es = self.r_es * a + b

    def contours(self, k: int, f: float) -> tuple[np.ndarray, np.ndarray]:
        """Endo- and epicardial radius (mm) of slice ``k`` at contraction ``f`` (0 ED .. 1 ES)."""
        endo = (1 - f) * self.endo_ed[k] + f * self.endo_es[k]
        return endo, np.sqrt(endo ** 2 + self.epi_ed[k] ** 2 - self.endo_ed[k] ** 2)

    def volumes_ml(self, f: float) -> tuple[float, float]:
        """(cavity, myocardium) volumes in ml at contraction ``f``."""
        endo = (1 - f) * self.endo_ed + f * self.endo_es
        epi = np.sqrt(endo ** 2 + self.epi_ed ** 2 - self.endo_ed ** 2)
        return _volume(endo) / 1000, (_volume(epi) - _volume(endo)) / 1000


def _g(z: np.ndarray, length: float) -> np.ndarray:
    return np.sqrt(np.clip(1 - (z / length) ** 2, 0, None))


def _volume(r: np.ndarray) -> float:
    """Disc-sum volume (mm3) of polar contours ``(slices, N_THETA)``: sum(1/2 r^2 dtheta) x slice."""
    return float(0.5 * (r ** 2).sum() * (2 * np.pi / N_THETA) * SLICE_MM)


def _solve_quadratic(a: np.ndarray, b: np.ndarray, target: float, lower: float) -> float:
    """Smallest-error R >= lower with volume(R a + b) = target (volume is quadratic in R)."""
    qa, qb, qc = _volume(a), 2 * _volume(np.sqrt(np.abs(a * b))), _volume(b) - target
    disc = qb * qb - 4 * qa * qc
    root = (-qb + math.sqrt(max(disc, 0.0))) / (2 * qa) if qa > 0 else lower
    return max(root, lower)


def _phase_curve(n_phases: int) -> tuple[np.ndarray, int]:
    """Contraction ``f`` per phase (0 at ED, 1 at ES at 35% of the cycle) and the ES index."""
    es = max(1, int(round(0.35 * n_phases)))
    ph = np.arange(n_phases, dtype=float)
    f = np.where(ph <= es, (1 - np.cos(np.pi * ph / es)) / 2,
                 (1 + np.cos(np.pi * (ph - es) / max(n_phases - es, 1))) / 2)
    return f, es


def _medimage(pixels: np.ndarray, spacing: tuple, source: str) -> MedImage:
    hi = float(np.percentile(pixels, 99.5))
    return MedImage(pixels.astype(np.float32), tuple(spacing), "MR", "2D", Window(hi / 2, hi, "SSFP"), (),
                    source, "phantom")


class _Scene:
    """Pixel geometry of one cine: LV centre, rotation, and the static anatomy around it."""

    def __init__(self, rng: np.random.Generator, heart: _Heart, size: int, difficulty: float = 0.5) -> None:
        self.heart, self.size, self.px = heart, size, FOV_MM / size
        yy, xx = a3.grid_mm((size, size), (self.px, self.px))
        alpha = rng.uniform(-0.5, 0.5)
        # Python floats, not NumPy scalars: they keep the float32 pixel grids float32 (NEP 50)
        self.drift = [float(v) for v in rng.uniform(-0.6, 0.6, 2)]  # LV centre moves (mm per mm of depth)
        c = [float(v) for v in rng.uniform(-12, 12, 2)]
        self.yy, self.xx = yy - c[0], xx - c[1]
        rot = lambda v, u: (v * math.cos(alpha) - u * math.sin(alpha), v * math.sin(alpha) + u * math.cos(alpha))  # noqa: E731
        self.rot = rot
        self.rv_depth, self.rv_width = rng.uniform(0.5, 0.9), rng.uniform(1.3, 1.7)
        self.papillary = (rng.uniform(0.6, 1.2), rng.uniform(-2.2, -1.6), rng.uniform(2.0, 3.5))
        self.fat = np.clip(rng.uniform(-4.0, 7.0, 8), 0, None)  # patchy epicardial fat (mm)
        # diaphragm and liver against the inferior wall, as grey as myocardium: a faint epicardial
        # border over a sector that widens with difficulty (centre angle, half-width in radians, mm)
        self.diaphragm = (np.pi / 2 + rng.uniform(-0.5, 0.5), rng.uniform(0.4, 1.0) * (0.8 + difficulty),
                          rng.uniform(6.0, 15.0))
        self.fields = [a3.coarse_field(rng, (size, size), 12.0 / self.px) for _ in range(3)]
        self.body = (rng.uniform(120, 140), rng.uniform(170, 210), rng.uniform(8, 22))  # ry, rx, fat
        # an uneven body: lumpy outline (harmonics 2-6 of the radius), subcutaneous fat thicker on
        # one side, and in most patients a back flattened by the table
        self.lumps = (rng.uniform(0, 0.07, 5) / np.sqrt(np.arange(1, 6)), rng.uniform(0, 2 * np.pi, 5))
        self.fat_side = (rng.uniform(0.3, 0.8), rng.uniform(0, 2 * np.pi))
        self.table = rng.uniform(0.75, 0.95) if rng.random() < 0.7 else None
        self.vessels = np.clip(a3.smooth_field(rng, (size, size), 1.0) - 2.0, 0, None)  # lung vessels
        self.texture = 0.06 * a3.smooth_field(rng, (size, size), max(0.6, 1.5 / self.px)) \
            + 0.08 * a3.coarse_field(rng, (size, size), 5.0 / self.px)  # tissue texture (multiplicative)
        self.bowel = a3.coarse_field(rng, (size, size), 4.0 / self.px)  # fluid-filled bowel and vessels
        n_trab = int(rng.integers(18, 30))  # trabeculae: a jagged dark fringe inside the endocardium
        crypts = np.cos(n_trab * THETA + rng.uniform(0, 2 * np.pi)) + 0.8 * np.cos(
            (n_trab // 2 + 3) * THETA + rng.uniform(0, 2 * np.pi)) + 1.2 * ndimage.gaussian_filter1d(rng.standard_normal(N_THETA), 2.0, mode='wrap') * 2.5
        depth = rng.uniform(1.0, 2.0) * (0.8 + difficulty)
        self.trabeculae = np.clip(crypts - 0.3, 0, None) * depth  # fringe depth (mm)
        self.top = rng.uniform(95.0, 130.0)  # anterior skin above the LV centre (mm)
        self.coil = (rng.uniform(0.25, 0.45) * FOV_MM, rng.uniform(0.7, 1.2))  # fall-off length, strength
        self.fov = rng.uniform(0.45, 0.56) * FOV_MM if rng.random() < 0.6 else None  # circular FOV radius

    def local(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Anatomical (posterior-down, patient-left-right) coordinates of pixels for slice ``k``."""
        dz = float(self.heart.z[k])  # a Python float keeps the float32 grids float32
        return self.rot(self.yy - self.drift[0] * dz, self.xx - self.drift[1] * dz)

    def background(self, k: int) -> np.ndarray:
        """Static anatomy of slice ``k``: body, chest wall, lungs, liver, aorta, spine."""
        y, x = self.local(k)
        y, x = y + 4.0 * self.fields[1], x + 4.0 * self.fields[2]  # organic outlines
        soft = lambda d: a3.soft_inside(d, self.px)  # noqa: E731
        ell = lambda cy, cx, ry, rx: np.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2)  # noqa: E731
        skin, fat = self._body(y, x)
        img = AIR + soft(skin) * (FAT - AIR)
        img += soft(skin + fat) * (MUSCLE - img)
        inner = soft(skin + fat + 12 + 4 * self.fields[0])
        img += inner * (MYO * (1.1 + 0.3 * self.fields[2]) - img)  # mediastinum
        depth = self.heart.z[k] / max(self.heart.l_ed, 1.0)
        for cy, cx, ry, rx in ((10.0, 90.0, 80.0, 45.0), (40.0, -115.0, 80.0, 45.0)):
            img += soft((ell(cy, cx, ry, rx) - 1) * rx + 3 * self.fields[1]) * inner * (LUNG * (1 + 3 * self.vessels) - img)
        img += soft((ell(95.0, -110.0, 55.0 + 60 * depth, 70.0 + 40 * depth) - 1) * 60) * (LIVER * (1 + 0.08 * self.fields[2]) - img)
        img += soft(ell(75.0, -20.0, 1, 1) - 12.0) * (BLOOD * 0.9 - img)  # descending aorta
        img += a3.soft_inside(1.3 - self.fields[0], 0.3) * inner * (FAT * 0.9 - img)  # fat and vessels between organs
        img += a3.soft_inside(self.fields[1] + 1.5, 0.3) * inner * (LUNG - img)  # dark gas and cortical bone
        spine = ell(105.0, -55.0, 1, 1)
        img += soft(spine - 22.0) * (MYO * 0.6 - img)
        img += soft(spine - 18.0) * (MUSCLE * 1.5 - img)
        below = np.clip((y - 40.0) / 30.0, 0, 1)  # abdomen: bright fluid-filled loops below the heart
        img += a3.soft_inside(1.9 - self.bowel, 0.3) * inner * below * (BLOOD * 0.7 - img)
        return img * (1.0 + self.texture)

    def _body(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance (mm, negative inside) to the skin and the subcutaneous fat's thickness."""
        by, bx, fat = self.body
        dy, dx = (y - (by - self.top)) / by, (x + 25.0) / bx
        angle = np.arctan2(dy, dx)
        (amp, phase), (side, towards) = self.lumps, self.fat_side
        # outline and fat as functions of the angle, tabulated once and looked up per pixel
        radius = 1 + sum(a * np.cos((i + 2) * THETA + p) for i, (a, p) in enumerate(zip(amp, phase)))
        at = _AngleLookup(angle)
        radius = at(radius)
        skin = (_norm(dy, dx) / radius - 1) * by
        if self.table is not None:  # y grows posteriorly: the table cuts the back flat
            skin = np.maximum(skin, (dy - self.table) * by)
        return skin, at(fat * (1 + side * np.cos(THETA - towards)))

    def frame(self, k: int, f: float, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signal and mask of slice ``k`` at contraction ``f`` over the static background."""
        y, x = self.local(k)
        rho, theta = _norm(y, x), _wrap(np.arctan2(y, x))
        endo, epi = self.heart.contours(k, f)
        at = _AngleLookup(theta)
        r_endo, r_epi = at(endo), at(epi)
        soft = lambda d: a3.soft_inside(d, self.px)  # noqa: E731
        img = bg.copy()
        r_out = float(epi.mean())
        if r_out > 0:
            fat = at(np.interp(THETA, np.linspace(0, 2 * np.pi, 9)[:-1], self.fat, period=2 * np.pi))
            img += soft(rho - r_epi - fat) * (FAT - img)
            centre, half, thick = self.diaphragm
            sector = np.clip((np.cos(theta - centre) - math.cos(min(half, np.pi))) * 4, 0, 1)
            img += soft(rho - r_epi - thick) * sector * (LIVER - img)
            rv = _norm((y + 0.35 * r_out) / (self.rv_width * r_out),
                          (x + r_out * (1 + 0.3 * self.rv_depth)) / (self.rv_depth * r_out * (1 - 0.25 * f) + 1e-3))
            rv_on = 1.0 - np.clip((self.heart.z[k] / self.heart.l_ed - 0.6) / 0.25, 0, 1)
            img += soft((rv - 1) * r_out * 0.6 - 3.0) * rv_on * (MYO - img)
            img += soft((rv - 1) * r_out * 0.6) * soft(-(rho - r_epi - 1.0)) * rv_on * (BLOOD * 0.95 - img)
        img += soft(rho - r_epi) * (MYO - img)
        cavity = soft(rho - r_endo)
        img += cavity * (BLOOD * (1.0 + 0.6 * self.texture) - img)  # flow inhomogeneity
        depth = at(self.trabeculae) * (1 - 0.5 * f)
        img += soft(r_endo - depth - rho) * cavity * 0.55 * (MYO - img)
        img += self._papillary(k, f, y, x, r_endo, soft) * (MYO - img)
        mask = np.where(rho < r_endo, 1, np.where(rho < r_epi, 2, 0)).astype(np.uint8)
        return img, mask

    def _papillary(self, k, f, y, x, r_endo, soft) -> np.ndarray:
        depth = self.heart.z[k] / max(self.heart.l_ed, 1.0)
        if not 0.3 <= depth <= 0.75:
            return np.zeros(y.shape, np.float32)
        out = np.zeros(y.shape, np.float32)
        for ang in self.papillary[:2]:
            r_here = float(np.interp(ang % (2 * np.pi), THETA, self.heart.contours(k, f)[0], period=2 * np.pi))
            py, px = 0.72 * r_here * math.sin(ang), 0.72 * r_here * math.cos(ang)
            out = np.maximum(out, soft(_norm(y - py, x - px) - self.papillary[2] * (1 + 0.3 * f)))
        return out * (_norm(y, x) < r_endo)


def _finish(rng: np.random.Generator, img: np.ndarray, scene: _Scene, difficulty: float) -> np.ndarray:
    """Scanner blur, surface-coil fall-off from the anterior chest, bias, Rician noise, round FOV.

    Difficulty widens the blur (point-spread 2.2-3.0 mm FWHM from 0.2 to 0.8, 2.6 mm at 0.5,
    whatever the size), strengthens the bias field and raises the noise (4-10 % of the blood
    signal from 0.2 to 0.8, 7 % at 0.5).
    """
    img = ndimage.gaussian_filter(img, (0.8 + 0.6 * difficulty) / scene.px)
    grids = a3.grid_mm(img.shape, (scene.px, scene.px))
    length, strength = scene.coil
    coil = 0.55 + strength * np.exp(-(grids[0] + FOV_MM / 2) / length)  # anterior (top) brightest
    bias = a3.bias_field(rng, grids, 0.1 + 0.3 * difficulty)
    img = a3.rician(rng, img * coil * bias, (0.02 + 0.1 * difficulty) * BLOOD)
    if scene.fov is not None:  # outside the reconstructed circle the scanner writes zeros
        img *= a3.soft_inside(np.sqrt(grids[0] ** 2 + grids[1] ** 2) - scene.fov, scene.px)
    return img


def _draw(rng: np.random.Generator, r: a3.ParamResolver, n_slices: int) -> _Heart:
    variant = r.get("variant", lambda: str(rng.choice(list(VARIANTS))))
    (edv_m, edv_s), (ef_m, ef_s), (w_lo, w_hi) = VARIANTS[variant]
    edv = r.get("edv_ml", lambda: round(float(np.clip(rng.normal(edv_m, edv_s), 70, 380)), 1))
    ef = r.get("ef_percent", lambda: round(float(np.clip(rng.normal(ef_m, ef_s), 12, 78)), 1))
    wall = r.get("wall_mm", lambda: round(float(rng.uniform(w_lo, w_hi)), 2))
    return _Heart(rng, variant, edv, ef, wall, n_slices)


def _summary(heart: _Heart, f: np.ndarray, es: int) -> dict:
    edv, myo = heart.volumes_ml(0.0)
    esv = heart.volumes_ml(1.0)[0]
    return dict(edv_ml=round(edv, 3), esv_ml=round(esv, 3), ef_percent=round(100 * (edv - esv) / edv, 3),
                stroke_volume_ml=round(edv - esv, 3), myocardial_mass_g=round(1.05 * myo, 3),
                ed_phase=0, es_phase=es, variant=heart.variant)


def make_cine(seed: int = 0, n_slices: int = 10, n_phases: int = 20, size: int = 128,
              difficulty: float = 0.5, **params) -> Cine:
    """A short-axis cine ``(n_phases, n_slices, size, size)`` with exact volumes and EF.

    Args:
        seed: same seed, same cine. n_slices: 10 mm slices from the base (3-20).
        n_phases: frames per cycle (4-40). size: pixels per side (32-512) over 350 mm.
        difficulty: 0..1, images only (see the module doc). **params: variant, edv_ml, ef_percent, wall_mm.
    """
    for name, value, lo, hi in (("n_slices", n_slices, 3, 20), ("n_phases", n_phases, 4, 40),
                                ("seed", seed, 0, 2 ** 63)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise MedlearnInputError(f"{name} must be a whole number from {lo} to {hi} (got {value!r}).")
    difficulty, size = a3.check_common(difficulty, size, 32, 512)
    if set(params) & {"slice_index", "phase_index"}:
        raise MedlearnInputError("slice_index and phase_index choose a 2D frame; a cine holds them all.")
    rng = np.random.default_rng(seed)
    r = a3.ParamResolver("heart", PARAMS, params)
    heart = _draw(rng, r, n_slices)
    scene = _Scene(rng, heart, size, difficulty)
    f, es = _phase_curve(n_phases)
    images = np.empty((n_phases, n_slices, size, size), np.float32)
    masks = np.empty((n_phases, n_slices, size, size), np.uint8)
    for k in range(n_slices):
        bg = scene.background(k)
        for t in range(n_phases):
            img, masks[t, k] = scene.frame(k, float(f[t]), bg)
            images[t, k] = _finish(rng, img, scene, difficulty)
    s = _summary(heart, f, es)
    p = dict(r.drawn, seed=seed, ef_target=heart.ef_target, n_slices=n_slices, n_phases=n_phases, **s)
    return Cine(images, masks, (SLICE_MM, scene.px, scene.px), 0, es, s["edv_ml"], s["esv_ml"],
                s["ef_percent"], s["stroke_volume_ml"], s["myocardial_mass_g"], heart.variant, p)


def make(rng: np.random.Generator, difficulty: float = 0.5, size: int = 128, **params) -> Phantom:
    """One short-axis frame (a random slice and phase of a random cine) with its 0/1/2 mask."""
    difficulty, size = a3.check_common(difficulty, size, 32, 512)
    r = a3.ParamResolver("heart", PARAMS, params)
    heart = _draw(rng, r, 10)
    scene = _Scene(rng, heart, size, difficulty)
    f, es = _phase_curve(20)
    with_lv = int(np.sum(heart.endo_ed.max(axis=1) > 0)) or 1
    k = int(r.get("slice_index", lambda: int(rng.integers(0, min(with_lv, 10)))))
    t = int(r.get("phase_index", lambda: int(rng.integers(0, 20))))
    img, mask = scene.frame(k, float(f[t]), scene.background(k))
    image = _medimage(_finish(rng, img, scene, difficulty), (scene.px, scene.px), "phantom:heart")
    p = dict(r.drawn, ef_target=heart.ef_target, contraction=round(float(f[t]), 4),
             spacing_mm=[scene.px, scene.px], slice_mm=SLICE_MM, **_summary(heart, f, es))
    return Phantom(image, None, mask, p)


register_generator("heart", make, PARAMS, 128, max_size=512)

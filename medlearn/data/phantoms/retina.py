"""Colour fundus phantom with diabetic-retinopathy lesions graded on the clinical scale.

Geometry of a macula-centred 45° photograph (about 12 mm of retina across): optic
disc 1.5-1.9 mm wide, 2.5 disc diameters (≈4.5 mm) nasal to the fovea, vessel
arcades leaving the disc and arching around the macula (veins ≈150 µm wide and
darker, arteries ≈110 µm and lighter). Lesions follow the International Clinical
DR scale (Wilkinson 2003): 1 microaneurysms only; 2 plus haemorrhages, hard
exudates or cotton-wool spots; 3 the 4-2-1 rule (≥20 haemorrhages in each of 4
quadrants, venous beading in ≥2, IRMA in ≥1); 4 neovascularisation or preretinal
haemorrhage. The label is derived from the lesions actually drawn, so user
overrides can never make it lie.

Mask codes (``LESION_CODES``): 0 none, 1 microaneurysm, 2 intraretinal haemorrhage,
3 hard exudate, 4 cotton-wool spot, 5 venous beading, 6 IRMA, 7 new vessels,
8 preretinal haemorrhage.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi

from medlearn.data.image import MedImage
from medlearn.data.phantoms import common as C
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator
from medlearn.data.phantoms.retina_tree import vessel_tree

LESION_CODES = {1: "microaneurysm", 2: "haemorrhage", 3: "hard exudate", 4: "cotton-wool spot",
                5: "venous beading", 6: "IRMA", 7: "neovascularisation", 8: "preretinal haemorrhage"}
FOV_MM = 12.0
# Grade prior of DeepDRiD regular fundus photographs (RetinaMNIST train split: 486, 128,
# 206, 194, 66 of 1080): mostly no or mild DR, as in screening.
GRADE_PRIOR = (0.45, 0.12, 0.19, 0.18, 0.06)
_GRADE_CDF = np.cumsum(GRADE_PRIOR) / np.sum(GRADE_PRIOR)
_TRANSMISSION = {  # per-channel darkening of the fundus under a lesion (RGB)
    "ma": (0.5, 0.22, 0.28), "haem": (0.5, 0.2, 0.26), "vein": (0.66, 0.3, 0.34),
    "artery": (0.84, 0.52, 0.55), "irma": (0.68, 0.35, 0.4), "nv": (0.7, 0.4, 0.45),
}

PARAMS = (
    ParamSpec("grade", "DR grade", 0, 4, None, 1, "0 none ... 4 proliferative; empty = random", integer=True),
    ParamSpec("n_microaneurysms", "Microaneurysms", 0, 80, None, 1, "tiny red dots (25-100 µm)", integer=True),
    ParamSpec("n_haemorrhages", "Haemorrhages", 0, 200, None, 1, "dot/blot and flame haemorrhages", integer=True),
    ParamSpec("n_exudates", "Hard exudates", 0, 120, None, 1, "yellow lipid deposits, often in rings", integer=True),
    ParamSpec("n_cotton_wool", "Cotton-wool spots", 0, 12, None, 1, "fluffy white nerve-fibre infarcts", integer=True),
    ParamSpec("beading_quadrants", "Venous beading (quadrants)", 0, 4, None, 1, "sausage-like veins", integer=True),
    ParamSpec("irma", "IRMA", 0, 1, None, 1, "intraretinal microvascular abnormality (0/1)", integer=True),
    ParamSpec("neovascularisation", "New vessels", 0, 1, None, 1, "fine tangled vessels (0/1)", integer=True),
    ParamSpec("preretinal", "Preretinal haemorrhage", 0, 1, None, 1, "boat-shaped bleed (0/1)", integer=True),
    ParamSpec("illumination", "Uneven illumination", 0, 1, None, 0.05, "0 even ... 1 strong"),
    ParamSpec("pigment", "Fundus pigmentation", 0, 1, None, 0.05, "0 light ... 1 dark"),
    ParamSpec("eye", "Eye", choices=("right", "left"), help="disc on the right for a right eye"),
)


def clinical_grade(f: dict) -> int:
    """Grade 0-4 from drawn findings (counts, per-quadrant haemorrhages, flags)."""
    if f["neovascularisation"] or f["preretinal"]:
        return 4
    if min(f["haem_per_quadrant"]) >= 20 or f["beading_quadrants"] >= 2 or f["irma"]:
        return 3
    if f["n_haemorrhages"] or f["n_exudates"] or f["n_cotton_wool"]:
        return 2
    return 1 if f["n_microaneurysms"] else 0


def _draw_findings(rng: np.random.Generator, grade: int, d: float) -> dict:
    """Lesion counts typical of a grade; ``d`` (difficulty) pulls them towards the borders.

    Mild NPDR holds a few microaneurysms; moderate adds a handful of haemorrhages and,
    in some eyes, exudates and cotton-wool spots; severe meets at least one arm of the
    4-2-1 rule (each arm present with probability ``1 - 0.5 d``); proliferative adds new
    vessels and/or a preretinal bleed to severe-looking findings.
    """
    few = 1.1 - 0.7 * d
    f = {"n_microaneurysms": 0, "n_haemorrhages": 0, "n_exudates": 0, "n_cotton_wool": 0,
         "beading_quadrants": 0, "irma": 0, "neovascularisation": 0, "preretinal": 0}
    if grade == 1:
        f["n_microaneurysms"] = int(rng.integers(1, 3 + int(6 * few)))
    if grade >= 2:
        f["n_microaneurysms"] = int(rng.integers(3, 6 + int(14 * few)))
        f["n_haemorrhages"] = int(rng.integers(1, 3 + int(10 * few)))
        f["n_exudates"] = int(rng.integers(1, 4 + int(25 * few))) if rng.random() < 0.6 else 0
        f["n_cotton_wool"] = int(rng.integers(1, 2 + int(3 * few))) if rng.random() < 0.35 else 0
    if grade >= 3:
        arms = rng.random(3) < 1.0 - 0.5 * d  # 20 haemorrhages x 4 quadrants, beading x 2, IRMA
        if not arms.any():
            arms[rng.integers(0, 3)] = True
        f["n_haemorrhages"] = int(rng.integers(80, 121)) if arms[0] else int(rng.integers(10, 40))
        f["beading_quadrants"] = int(rng.integers(2, 4)) if arms[1] else int(rng.random() < 0.3)
        f["irma"] = int(arms[2])
    if grade == 4:
        kind = rng.integers(0, 3)
        f["neovascularisation"], f["preretinal"] = int(kind != 1), int(kind != 0)
    return f


def _quadrant_counts(rng: np.random.Generator, n: int, severe: bool) -> list[int]:
    """Split haemorrhages over quadrants: ≥20 each when severe, else fewer than 20 in one."""
    if severe and n >= 80:
        return [int(c) for c in 20 + rng.multinomial(n - 80, [0.25] * 4)]
    counts = rng.multinomial(n, [0.25] * 4)
    if n >= 80:  # not severe: keep one quadrant below 20 so the 4-2-1 rule stays false
        q = int(np.argmin(counts))
        extra = counts[q] - 19
        if extra > 0:
            counts[q] -= extra
            counts[(q + 1) % 4] += extra
    return [int(c) for c in counts]


def _points_in_quadrants(rng, counts, geo, r_lo=0.12, r_hi=0.88) -> np.ndarray:
    """Uniform points in the field of view, ``counts[q]`` in quadrant q, none on the disc.

    Twice the candidates needed are drawn and those on the disc dropped, so a lesion
    that the counts (and the grade) promise is never lost.
    """
    counts = np.asarray(counts, int)
    if not counts.any():  # a normal eye: nothing to place, nothing drawn
        return np.zeros((0, 2), np.float32)
    q = np.repeat(np.arange(4), 2 * counts + 4)
    r = geo["R"] * np.sqrt(rng.uniform(r_lo**2, r_hi**2, len(q)))
    phi = rng.uniform(0, np.pi / 2, len(q))
    sy = np.where(q < 2, -1.0, 1.0)
    sx = np.where(q % 2 == 0, -geo["side"], geo["side"])
    pts = np.stack([geo["c"] + sy * r * np.sin(phi), geo["c"] + sx * r * np.cos(phi)], 1)
    far = np.hypot(*(pts - geo["disc"]).T) > geo["disc_r"] * 1.3
    keep = [np.flatnonzero(far & (q == k))[:n] for k, n in enumerate(counts)]
    return pts[np.concatenate(keep)].astype(np.float32)


def _per_lesion(value, n: int) -> np.ndarray:
    """A scalar or ``(n,)`` value as a float32 ``(n,)`` array."""
    v = np.asarray(value, np.float32)
    return np.full(n, v, np.float32) if v.ndim == 0 else v


class _Lesions:
    """Collects dots of every lesion type, then renders them in one Voronoi pass."""

    def __init__(self):
        self.parts: list[tuple] = []

    def add(self, code, pts, a, b, theta, opacity, trans=None, colour=None, soft=0.7):
        n = len(pts)
        mul = 1.0 - np.asarray(trans, np.float32) if trans is not None else np.ones(3, np.float32)
        add = np.zeros(3, np.float32) if colour is None else np.asarray(colour, np.float32)
        self.parts.append((np.asarray(pts, np.float32).reshape(-1, 2), a, b, theta,
                           _per_lesion(opacity, n), np.tile(mul, (n, 1)), np.tile(add, (n, 1)),
                           np.full(n, code, np.uint8), _per_lesion(soft, n)))

    def render(self, img, mask):
        """Darken/tint the channel-first ``img (3, H, W)`` and mark ``mask`` where lesions cover."""
        if not self.parts or not sum(len(p[0]) for p in self.parts):
            return
        pts, a, b, th, op, mul, add, code, soft = (np.concatenate(x) for x in zip(*self.parts))
        cover, idx = C.ellipses(mask.shape, pts, a, b, th, soft)
        on = np.flatnonzero(cover)  # lesions cover a few per cent of the picture: work there only
        k = idx.ravel()[on]
        c = cover.ravel()[on] * op[k]
        flat = img.reshape(3, -1)
        flat[:, on] = flat[:, on] * (1.0 - c * mul.T[:, k]) + c * add.T[:, k]
        hit = c > 0.2
        m = mask.reshape(-1)
        m[on[hit]] = np.maximum(m[on[hit]], code[k[hit]])  # codes rise with severity: keep the worst
        iy, ix = np.clip(np.rint(pts).astype(int), 0, np.array(mask.shape) - 1).T  # sub-pixel dots count too
        np.maximum.at(mask, (iy, ix), code)


def _pick(p: dict, name: str, drawn):
    """The user's value when given, else the drawn one (drawn either way: stable streams)."""
    return drawn if p.get(name) is None else p[name]


def _rgb(*v) -> np.ndarray:
    """A colour or per-channel factor shaped ``(3, 1, 1)`` for channel-first images."""
    return np.array(v, np.float32)[:, None, None]


@functools.lru_cache(maxsize=4)
def _camera_frame(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius from the centre over the field radius, cubed (vignetting), and the soft
    field-of-view disk: the same for every photograph of a size (cached, read-only)."""
    c, R = size / 2, 0.49 * size
    yy, xx = np.arange(size, dtype=np.float32)[:, None], np.arange(size, dtype=np.float32)[None, :]
    rr3 = (np.hypot(yy - np.float32(c), xx - np.float32(c)) / np.float32(R)) ** 3
    inside = C.soft_disk((size, size), (c, c), R, 1.0)
    rr3.flags.writeable = inside.flags.writeable = False
    return rr3, inside


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One fundus photograph ``(size, size, 3)`` uint8 with its DR grade and lesion mask.

    The picture is composed channel-first ``(3, H, W)`` (each step then runs over long
    contiguous rows instead of triplets) and turned into ``(H, W, 3)`` once, as uint8.
    """
    return compose(rng, difficulty, size, **p)[0]


def compose(rng: np.random.Generator, difficulty: float, size: int, **p) -> tuple[Phantom, np.ndarray]:
    """:func:`make`'s phantom and the exact coverage of its vessel tree: ``(size, size)``
    float32, the share of each pixel inside a vessel (trunks, branches, IRMA, new vessels)
    before the camera blurs it, 0 outside the field of view (the vessels study's truth)."""
    d = difficulty
    # Always drawn, so fixing a parameter keeps the rest (the draw of rng.choice(5, p=GRADE_PRIOR), cheaper).
    drawn = int(_GRADE_CDF.searchsorted(rng.random(), side="right"))
    grade = drawn if p.get("grade") is None else int(p["grade"])
    f = _draw_findings(rng, grade, d)
    f.update({k: int(p[k]) for k in f if p.get(k) is not None})
    eye = _pick(p, "eye", "right" if rng.random() < 0.5 else "left")
    illum = float(_pick(p, "illumination", rng.uniform(0.2, 0.5 + 0.5 * d)))
    pigment = float(_pick(p, "pigment", rng.uniform(0, 1)))
    geo = _geometry(rng, size, eye)
    beaded = list(rng.permutation(4)[: min(f["beading_quadrants"], 4)])
    f["haem_per_quadrant"] = _quadrant_counts(rng, f["n_haemorrhages"], grade >= 3)
    mask = np.zeros((size, size), np.uint8)
    img = _fundus(rng, geo, pigment, size)
    tree = vessel_tree(rng, geo, beaded, bool(f["irma"]), bool(f["neovascularisation"]), d)
    coverage = _vessels(img, mask, tree)
    _lesions(rng, f, geo, d).render(img, mask)
    if f["preretinal"]:
        _preretinal(rng, img, mask, geo, (size, size))
    img = _camera(rng, img, mask, illum, d, geo)
    px = geo["px"]
    params = {"grade": grade, "eye": eye, "illumination": illum, "pigment": pigment,
              "disc_diameter_mm": round(float(2 * geo["disc_r"] / px), 3), **f}
    label = clinical_grade(f)
    params["label"] = label
    image = MedImage(img, spacing=(1 / px, 1 / px), modality="OP", source="phantom:retina", format="phantom")
    coverage[_camera_frame(size)[1] < 0.5] = 0.0  # as the lesion map: nothing outside the field
    return Phantom(image, label, mask, params), coverage


def _geometry(rng, S: int, eye: str) -> dict:
    """Field of view, fovea and optic disc (pixels): the ``geo`` dict the drawing steps share."""
    R = 0.49 * S
    px = 2 * R / FOV_MM  # pixels per mm
    side = 1 if eye == "right" else -1
    fovea = np.array([S / 2, S / 2], np.float32) + rng.normal(0, 0.25, 2).astype(np.float32) * px
    disc_d = rng.uniform(1.5, 1.9) * px
    disc = fovea + np.array([-0.3 * px + rng.normal(0, 0.2) * px, side * rng.uniform(4.2, 4.7) * px], np.float32)
    return {"R": R, "c": S / 2, "side": side, "disc": disc, "disc_r": disc_d / 2, "fovea": fovea, "px": px}


def _fundus(rng, geo: dict, pigment: float, S: int) -> np.ndarray:
    """Orange-red fundus with choroidal texture, darker macula and the optic disc and cup: ``(3, S, S)``."""
    shape, px, fovea, disc = (S, S), geo["px"], geo["fovea"], geo["disc"]
    base = _rgb(0.98, 0.42 - 0.1 * pigment, 0.27 - 0.07 * pigment) * np.float32(1 - 0.1 * pigment)
    tex = C.fractal_noise(rng, shape, (0.3 * px, 1.0 * px), (0.5, 1.0))
    img = tex * _rgb(0.021, 0.035, 0.035)  # the texture modulates red less (0.6 x 3.5 %)
    img += 1
    img *= base
    yy, xx = np.arange(S, dtype=np.float32)[:, None], np.arange(S, dtype=np.float32)[None, :]
    rf = np.hypot(yy - fovea[0], xx - fovea[1]) / np.float32(px)
    macula = 0.25 * np.exp(-((rf / 1.5) ** 2)) + 0.25 * np.exp(-((rf / 0.4) ** 2))
    shade = macula * _rgb(-0.3, -0.9, -1.0)
    shade += 1
    img *= shade
    cup_r = geo["disc_r"] * rng.uniform(0.3, 0.5)
    reach = geo["disc_r"] * 1.5 + max(1.0, 0.8 * px)  # the glow's outer edge: nothing of the disc beyond
    lo = np.clip(np.floor(disc - reach).astype(int), 0, S)
    hi = np.clip(np.ceil(disc + reach).astype(int) + 1, 0, S)
    win, at = tuple(hi - lo), disc - lo  # the disc's window and its centre there
    disc_a = C.soft_disk(win, at, geo["disc_r"], max(1.0, 0.25 * px))
    cup_a = C.soft_disk(win, at - np.array([0, geo["side"] * 0.1 * px]), cup_r, max(1.0, 0.3 * px))
    glow = C.soft_disk(win, at, geo["disc_r"] * 1.5, max(1.0, 0.8 * px)) * 0.25
    part = img[:, lo[0] : hi[0], lo[1] : hi[1]]  # a view: the blends below write into img
    part += (disc_a * 0.85 + glow) * (_rgb(1.0, 0.72, 0.4) - part)
    part += cup_a * (_rgb(1.0, 0.9, 0.68) - part) * 0.75
    return img


def _vessels(img: np.ndarray, mask: np.ndarray, tree: dict) -> np.ndarray:
    """Darken ``img`` along the vessel tree (plus IRMA and new vessels) in one Voronoi pass;
    returns the tree's coverage ``(H, W)`` (share of each pixel inside a vessel)."""
    alpha, idx = C.tubes(mask.shape, tree["points"], tree["radii"])
    on = np.flatnonzero(alpha)  # vessels cover a fifth of the picture at most: work there only
    a, near = alpha.ravel()[on], idx.ravel()[on]
    absorb = 1.0 - np.array([_TRANSMISSION[k] for k in ("artery", "vein", "irma", "nv")], np.float32).T
    flat = img.reshape(3, -1)
    flat[:, on] *= 1.0 - a * absorb[:, tree["kind"][near]]
    seen = a > 0.1
    mask.reshape(-1)[on[seen]] = tree["code"][near[seen]]  # thin new vessels count even when sub-pixel
    return alpha


def _lesions(rng, f: dict, geo: dict, d: float) -> _Lesions:
    """Microaneurysms, haemorrhages, hard exudates and cotton-wool spots as drawn in ``f``."""
    les, px, disc, fovea = _Lesions(), geo["px"], geo["disc"], geo["fovea"]
    fov, R = np.array([geo["c"], geo["c"]], np.float32), geo["R"]
    vis = 1.1 - 0.65 * d  # lesion size/contrast factor
    pts = _points_in_quadrants(rng, rng.multinomial(f["n_microaneurysms"], [0.25] * 4), geo, 0.05, 0.6)
    r = rng.uniform(0.03, 0.06, len(pts)) * px * (0.6 + 0.6 * vis)
    les.add(1, pts, r, r, np.zeros(len(pts)), 0.55 + 0.45 * vis, _TRANSMISSION["ma"])
    pts = _points_in_quadrants(rng, f["haem_per_quadrant"], geo)
    a = rng.uniform(0.05, 0.18, len(pts)) * px * (0.6 + 0.5 * vis)
    flame = rng.random(len(pts)) < 0.3
    radial = np.arctan2(pts[:, 0] - disc[0], pts[:, 1] - disc[1])
    les.add(2, pts, a * np.where(flame, 2.5, 1), a * rng.uniform(0.6, 1, len(pts)), radial,
            (0.5 + 0.5 * vis) * rng.uniform(0.6, 1.0, len(pts)), _TRANSMISSION["haem"], soft=0.5 * a + 0.5)
    n = f["n_exudates"]
    if n:
        centres = fovea + rng.normal(0, 1.6, (max(1, n // 15 + 1), 2)) * px
        pts = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.35, (n, 2)) * px
        pts = pts[np.hypot(*(pts - fov).T) < 0.9 * R]
        r = rng.uniform(0.03, 0.1, len(pts)) * px * (0.6 + 0.5 * vis)
        les.add(3, pts, r, r * 0.8, rng.uniform(0, np.pi, len(pts)), 0.5 + 0.45 * vis, colour=(0.98, 0.85, 0.45))
    n = f["n_cotton_wool"]
    if n:
        ang = rng.uniform(0, 2 * np.pi, n)
        rad = rng.uniform(1.5, 3.5, n) * px
        pts = disc + np.stack([np.sin(ang), -geo["side"] * np.abs(np.cos(ang))], 1) * rad[:, None]
        pts = pts[np.hypot(*(pts - fov).T) < 0.85 * R]
        r = rng.uniform(0.15, 0.4, len(pts)) * px
        les.add(4, pts, r, r * 0.7, rng.uniform(0, np.pi, len(pts)), 0.45 + 0.35 * vis, colour=(0.92, 0.84, 0.72),
                soft=0.6 * r + 0.5)
    return les


def _camera(rng, img: np.ndarray, mask: np.ndarray, illum: float, d: float, geo: dict) -> np.ndarray:
    """Uneven illumination, vignetting, optical blur, sensor noise and the black surround;
    returns the ``(H, W, 3)`` uint8 photograph (and clears ``mask`` outside the field)."""
    rr3, inside = _camera_frame(mask.shape[0])
    light = C.smooth_noise(rng, mask.shape, 0.5 * geo["R"])  # in place from here: fewer fresh pages
    light *= np.float32(0.15 * illum)
    np.exp(light, out=light)
    light *= 1 - np.float32(0.25 + 0.3 * illum) * rr3
    img *= light
    blur = 0.35 + 0.4 * d
    img = ndi.gaussian_filter(img, (0, blur, blur))
    # Sensor noise: the difference of two uniforms (triangular, σ set by the factor √6) looks like
    # Gaussian noise at 2-6 grey levels and costs half as much to draw.
    noise = rng.random(img.shape, dtype=np.float32)
    noise -= rng.random(img.shape, dtype=np.float32)
    noise *= np.float32(np.sqrt(6.0) * (0.01 + 0.015 * d))
    img += noise
    img *= inside
    mask[inside < 0.5] = 0
    np.clip(img, 0, 1, out=img)
    img *= np.float32(255)
    rgb = np.empty((*mask.shape, 3), np.uint8)  # rounded and laid out (H, W, 3) in one pass
    np.copyto(rgb, np.rint(img, out=img).transpose(1, 2, 0), casting="unsafe")
    return rgb


def _preretinal(rng, img, mask, geo, shape) -> None:
    """A boat-shaped preretinal bleed: a disc whose top is cut flat by the fluid level."""
    px = geo["px"]
    ang = rng.uniform(0, 2 * np.pi)
    c = geo["fovea"] + rng.uniform(1.5, 3.0) * px * np.array([np.sin(ang), np.cos(ang)], np.float32)
    ry = rng.uniform(0.8, 1.6) * px
    amps, phases = C.contour_harmonics(rng, 1, 0.12, 4)
    field = C.blob_field(shape, c, ry, ry * rng.uniform(1.0, 1.5), rng.normal(0, 0.1), amps[0], phases[0])
    yy = np.arange(shape[0], dtype=np.float32)[:, None]
    level = c[0] - ry * rng.uniform(0.0, 0.5)
    below = np.clip((yy - level) / max(1.0, 0.08 * px) + 0.5, 0, 1)  # the fluid level: flat, nearly sharp
    settle = 0.7 + 0.25 * np.clip((yy - level) / ry, 0, 1)  # red cells settle: darker towards the bottom
    a = np.clip((1 - field) * ry / max(1.5, 0.15 * px), 0, 1) * below * settle
    img *= 1.0 - a * (1.0 - _rgb(0.5, 0.16, 0.2))
    mask[a > 0.3] = 8  # the most severe finding: drawn last, over everything


register_generator("retina", make, PARAMS, default_size=128)

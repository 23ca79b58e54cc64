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
    q = np.repeat(np.arange(4), 2 * counts + 4)
    r = geo["R"] * np.sqrt(rng.uniform(r_lo**2, r_hi**2, len(q)))
    phi = rng.uniform(0, np.pi / 2, len(q))
    sy = np.where(q < 2, -1.0, 1.0)
    sx = np.where(q % 2 == 0, -geo["side"], geo["side"])
    pts = np.stack([geo["c"] + sy * r * np.sin(phi), geo["c"] + sx * r * np.cos(phi)], 1)
    far = np.hypot(*(pts - geo["disc"]).T) > geo["disc_r"] * 1.3
    keep = [np.flatnonzero(far & (q == k))[:n] for k, n in enumerate(counts)]
    return pts[np.concatenate(keep)].astype(np.float32)


class _Lesions:
    """Collects dots of every lesion type, then renders them in one Voronoi pass."""

    def __init__(self):
        self.parts: list[tuple] = []

    def add(self, code, pts, a, b, theta, opacity, trans=None, colour=None, soft=0.7):
        n = len(pts)
        mul = 1.0 - np.asarray(trans, np.float32) if trans is not None else np.ones(3, np.float32)
        add = np.zeros(3, np.float32) if colour is None else np.asarray(colour, np.float32)
        self.parts.append((np.asarray(pts, np.float32).reshape(-1, 2), a, b, theta,
                           np.broadcast_to(np.float32(opacity), (n,)), np.tile(mul, (n, 1)),
                           np.tile(add, (n, 1)), np.full(n, code, np.uint8),
                           np.broadcast_to(np.float32(soft), (n,)).astype(np.float32)))

    def render(self, img, mask):
        if not self.parts or not sum(len(p[0]) for p in self.parts):
            return
        pts, a, b, th, op, mul, add, code, soft = (np.concatenate(x) for x in zip(*self.parts))
        cover, idx = C.ellipses(mask.shape, pts, a, b, th, soft)
        cover = cover * op[idx]
        img *= 1.0 - cover[..., None] * mul[idx]
        img += cover[..., None] * add[idx]
        hit = cover > 0.2
        mask[hit] = np.maximum(mask[hit], code[idx][hit])  # codes rise with severity: keep the worst
        iy, ix = np.clip(np.rint(pts).astype(int), 0, np.array(mask.shape) - 1).T  # sub-pixel dots count too
        np.maximum.at(mask, (iy, ix), code)


def _pick(p: dict, name: str, drawn):
    """The user's value when given, else the drawn one (drawn either way: stable streams)."""
    return drawn if p.get(name) is None else p[name]


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One fundus photograph ``(size, size, 3)`` uint8 with its DR grade and lesion mask."""
    d = difficulty
    drawn = int(rng.choice(5, p=GRADE_PRIOR))  # always drawn, so fixing a parameter keeps the rest
    grade = drawn if p.get("grade") is None else int(p["grade"])
    f = _draw_findings(rng, grade, d)
    f.update({k: int(p[k]) for k in f if p.get(k) is not None})
    eye = _pick(p, "eye", "right" if rng.random() < 0.5 else "left")
    illum = float(_pick(p, "illumination", rng.uniform(0.2, 0.5 + 0.5 * d)))
    pigment = float(_pick(p, "pigment", rng.uniform(0, 1)))
    S = size
    R = 0.49 * S
    px = 2 * R / FOV_MM  # pixels per mm
    side = 1 if eye == "right" else -1
    fov = np.array([S / 2, S / 2], np.float32)
    fovea = fov + rng.normal(0, 0.25, 2).astype(np.float32) * px
    disc_d = rng.uniform(1.5, 1.9) * px
    disc = fovea + np.array([-0.3 * px + rng.normal(0, 0.2) * px, side * rng.uniform(4.2, 4.7) * px], np.float32)
    geo = {"R": R, "c": S / 2, "side": side, "disc": disc, "disc_r": disc_d / 2, "fovea": fovea, "px": px}
    sev = min(f["beading_quadrants"], 4)
    beaded = list(rng.permutation(4)[:sev])
    f["haem_per_quadrant"] = _quadrant_counts(rng, f["n_haemorrhages"], grade >= 3)

    # --- background: orange-red fundus, choroidal texture, macula, disc -----------
    shape = (S, S)
    base = np.array([0.98, 0.42 - 0.1 * pigment, 0.27 - 0.07 * pigment], np.float32) * (1 - 0.1 * pigment)
    tex = C.fractal_noise(rng, shape, (0.3 * px, 1.0 * px), (0.5, 1.0))
    img = base * (1 + 0.035 * tex[..., None] * np.array([0.6, 1.0, 1.0], np.float32))
    yy, xx = np.arange(S, dtype=np.float32)[:, None], np.arange(S, dtype=np.float32)[None, :]
    rf = np.hypot(yy - fovea[0], xx - fovea[1]) / np.float32(px)
    macula = 0.25 * np.exp(-((rf / 1.5) ** 2)) + 0.25 * np.exp(-((rf / 0.4) ** 2))
    img *= (1 - macula[..., None] * np.array([0.3, 0.9, 1.0], np.float32))
    disc_a = C.soft_disk(shape, disc, disc_d / 2, max(1.0, 0.25 * px))
    cup_r = disc_d / 2 * rng.uniform(0.3, 0.5)
    cup_a = C.soft_disk(shape, disc - np.array([0, side * 0.1 * px]), cup_r, max(1.0, 0.3 * px))
    glow = C.soft_disk(shape, disc, disc_d * 0.75, max(1.0, 0.8 * px)) * 0.25
    img += (disc_a * 0.85 + glow)[..., None] * (np.array([1.0, 0.72, 0.4], np.float32) - img)
    img += cup_a[..., None] * (np.array([1.0, 0.9, 0.68], np.float32) - img) * 0.75
    mask = np.zeros(shape, np.uint8)

    # --- vessels (plus IRMA and new vessels) in one Voronoi pass -------------------
    tree = vessel_tree(rng, geo, beaded, bool(f["irma"]), bool(f["neovascularisation"]), d)
    alpha, idx = C.tubes(shape, tree["points"], tree["radii"])
    trans = np.array([_TRANSMISSION[k] for k in ("artery", "vein", "irma", "nv")], np.float32)
    t = trans[tree["kind"][np.maximum(idx, 0)]]
    img *= 1.0 - alpha[..., None] * (1.0 - t)
    vcode = tree["code"][np.maximum(idx, 0)]
    mask[alpha > 0.1] = vcode[alpha > 0.1]  # thin new vessels count even when sub-pixel

    # --- intraretinal lesions ----------------------------------------------------------
    les = _Lesions()
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
        pts = disc + np.stack([np.sin(ang), -side * np.abs(np.cos(ang))], 1) * rad[:, None]
        pts = pts[np.hypot(*(pts - fov).T) < 0.85 * R]
        r = rng.uniform(0.15, 0.4, len(pts)) * px
        les.add(4, pts, r, r * 0.7, rng.uniform(0, np.pi, len(pts)), 0.45 + 0.35 * vis, colour=(0.92, 0.84, 0.72),
                soft=0.6 * r + 0.5)
    les.render(img, mask)
    if f["preretinal"]:
        _preretinal(rng, img, mask, geo, shape)

    # --- camera: illumination, vignetting, field of view, blur, noise -----------------
    rr = np.hypot(yy - fov[0], xx - fov[1]) / np.float32(R)
    light = np.exp(0.15 * illum * C.smooth_noise(rng, shape, 0.5 * R)) * (1 - (0.25 + 0.3 * illum) * rr**3)
    img *= light[..., None]
    img = ndi.gaussian_filter(img, (0.35 + 0.4 * d, 0.35 + 0.4 * d, 0))
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.01 + 0.015 * d)
    inside = C.soft_disk(shape, fov, R, 1.0)
    img *= inside[..., None]
    mask[inside < 0.5] = 0
    params = {"grade": grade, "eye": eye, "illumination": illum, "pigment": pigment,
              "disc_diameter_mm": round(float(disc_d / px), 3), **f}
    label = clinical_grade(f)
    params["label"] = label
    image = MedImage(C.to_uint8(img * 255), spacing=(1 / px, 1 / px), modality="OP",
                     source="phantom:retina", format="phantom")
    return Phantom(image, label, mask, params)


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
    img *= 1.0 - a[..., None] * (1.0 - np.array([0.5, 0.16, 0.2], np.float32))
    mask[a > 0.3] = 8  # the most severe finding: drawn last, over everything


register_generator("retina", make, PARAMS, default_size=128)

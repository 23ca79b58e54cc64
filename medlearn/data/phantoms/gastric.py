"""H&E tile of gastric mucosa: normal glands, adenocarcinoma, or both.

Scale: the tile covers ``field_um`` micrometres (default 256 µm), so 128 px give
2 µm/px (about a x10 objective) and 512 px give 0.5 µm/px (x20). At x20 a 128 px
tile would hold less than one gland, too little to segment, hence the default.

Rendering: stain concentrations are composed per pixel (haematoxylin H for
nuclei, eosin E for cytoplasm and stroma) and turned into colour by the
Beer-Lambert model of ``skimage.color.hed2rgb``; stain variation between tiles is a
random scaling in that HED space. Glands are a Voronoi partition of jittered seeds
with perturbed elliptical outlines (see ``common``). Normal: round regular glands
with a central lumen, one orderly layer of basal nuclei and pale mucinous
(goblet-like) cells. Cancer: larger, irregular glands that fuse, cribriform
lumina, crowded enlarged hyperchromatic pleomorphic nuclei at random depth (loss
of polarity). Mask: 1 inside the tumour region (a smooth blob), 0 elsewhere.

Difficulty: lower nuclear atypia, more irregular tumour glands, stronger stain
variation, a more ragged invasion front (the region's scale falls from 108 to 72 µm
between difficulty 0.2 and 0.8) and residual normal glands entrapped inside the
tumour region (a share of ``0.4 * difficulty`` of its glands), which the region's mask
still counts as tumour, as pathologists' region annotations do.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.color import hed2rgb

from medlearn.data.image import MedImage
from medlearn.data.phantoms import common as C
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator

PARAMS = (
    ParamSpec("tumour_fraction", "Tumour fraction", 0, 1, None, 0.05, "share of the tile that is cancer"),
    ParamSpec("gland_density", "Gland density", 0, 1, None, 0.05, "0 sparse ... 1 crowded glands"),
    ParamSpec("nuclear_atypia", "Nuclear atypia", 0, 1, None, 0.05, "size, darkness and pleomorphism of tumour nuclei"),
    ParamSpec("stain_jitter", "Stain variation", 0, 1, None, 0.05, "lab-to-lab H&E colour variation"),
    ParamSpec("field_um", "Field of view (µm)", 64, 1024, 256, 8, "tile width in micrometres"),
)


def _tumour_region(rng, shape, fraction: float, scale_px: float) -> np.ndarray:
    """Boolean blob covering about ``fraction`` of the tile (all or nothing at 0 and 1)."""
    if fraction <= 0.0:
        return np.zeros(shape, bool)
    if fraction >= 1.0:
        return np.ones(shape, bool)
    field = C.smooth_noise(rng, shape, scale_px)
    return field > np.quantile(field, 1.0 - fraction)


def _seeds(rng, shape, spacing_px: float) -> np.ndarray:
    """Jittered-grid points (``(N, 2)`` y, x), a little beyond the tile edges."""
    ys = np.arange(-0.5, shape[0] / spacing_px + 0.5) * spacing_px
    xs = np.arange(-0.5, shape[1] / spacing_px + 0.5) * spacing_px
    pts = np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)
    return (pts + rng.uniform(-0.3, 0.3, pts.shape) * spacing_px).astype(np.float32)


def _glands(rng, shape, tumour, um, density, d):
    """Per-pixel gland maps: epithelium, lumen, tumour-gland flag, relative radius."""
    spacing_n = (80 - 25 * density) / um
    spacing_t = (62 - 20 * density) / um
    pts_n, pts_t = _seeds(rng, shape, spacing_n), _seeds(rng, shape, spacing_t)
    inside = lambda p: tumour[np.clip(np.rint(p[:, 0]).astype(int), 0, shape[0] - 1),  # noqa: E731
                              np.clip(np.rint(p[:, 1]).astype(int), 0, shape[1] - 1)]
    pts_n, pts_t = pts_n[~inside(pts_n)], pts_t[inside(pts_t)]
    pts = np.concatenate([pts_n, pts_t])
    entrapped = rng.random(len(pts_t)) < 0.4 * d  # residual normal glands inside the tumour region
    is_t = np.r_[np.zeros(len(pts_n), bool), ~entrapped]
    n = len(pts)
    spacing = np.r_[np.full(len(pts_n), spacing_n), np.full(len(pts_t), spacing_t)]
    radius = np.where(is_t, rng.uniform(0.45, 0.62, n), rng.uniform(0.38, 0.45, n)) * spacing
    irr = np.where(is_t, 0.25 + 0.1 * d, 0.1)[:, None]
    amps, phases = C.contour_harmonics(rng, n, 1.0, 5)
    amps = amps * irr
    lumen = np.where(is_t, rng.uniform(0.1, 0.35, n), rng.uniform(0.25, 0.4, n))
    idx, (dy, dx) = C.nearest_seed(shape, pts)
    theta = np.arctan2(dy, dx)
    rel = np.hypot(dy, dx) / (radius[idx] * C.contour_radius(theta, amps[idx], phases[idx]))
    return {"pts": pts, "is_t": is_t, "n_entrapped": int(entrapped.sum()), "radius": radius, "amps": amps, "phases": phases, "lumen": lumen,
            "idx": idx, "rel": rel.astype(np.float32), "epi": rel < 1.0, "lum": rel < lumen[idx]}


def _nuclei(rng, shape, g, um, atypia):
    """Centres, semi-axes, angles and darkness of all nuclei (epithelial and stromal)."""
    normal = np.flatnonzero(~g["is_t"])
    per = np.maximum((2 * np.pi * g["radius"][normal] * um / 7.5).astype(int), 3)
    gid = np.repeat(normal, per)
    first = np.repeat(np.cumsum(per) - per, per)  # index of each gland's first nucleus
    frac = (np.arange(len(gid)) - first) / np.repeat(per, per)
    th = (frac * 2 * np.pi + np.repeat(rng.uniform(0, 2 * np.pi, len(normal)), per)).astype(np.float32)
    th = th + rng.normal(0, 0.03, len(gid)).astype(np.float32)
    r = 0.86 * g["radius"][gid] * C.contour_radius(th, g["amps"][gid], g["phases"][gid])
    basal = g["pts"][gid] + np.stack([np.sin(th), np.cos(th)], 1) * r[:, None]
    nb = len(basal)
    a_b, b_b = np.full(nb, 3.8 / um), np.full(nb, 2.0 / um)
    # tumour: crowded nuclei anywhere in the epithelium (loss of polarity)
    tum_epi = g["epi"] & g["is_t"][g["idx"]] & ~g["lum"]
    cand = rng.uniform(0, 1, (int(tum_epi.size / (10.0 / um) ** 2), 2)) * np.array(shape)
    ok = tum_epi[cand[:, 0].astype(int), cand[:, 1].astype(int)]
    tum = cand[ok]
    size = np.exp(rng.normal(np.log(3.5 + 2.5 * atypia), 0.1 + 0.25 * atypia, len(tum))) / um
    a_t, b_t = size, size * rng.uniform(0.55, 0.95, len(tum))
    # stroma: spindle fibroblasts and round lymphocytes
    stroma = ~g["epi"]
    cand = rng.uniform(0, 1, (int(stroma.size / (22 / um) ** 2), 2)) * np.array(shape)
    st = cand[stroma[cand[:, 0].astype(int), cand[:, 1].astype(int)]]
    lymph = rng.random(len(st)) < 0.4
    a_s = np.where(lymph, 2.6, 5.0) / um
    b_s = np.where(lymph, 2.4, 1.3) / um
    centres = np.concatenate([basal, tum, st]).astype(np.float32)
    a = np.concatenate([a_b, a_t, a_s]).astype(np.float32)
    b = np.concatenate([b_b, b_t, b_s]).astype(np.float32)
    ang = np.concatenate([th, rng.uniform(0, np.pi, len(tum)), rng.normal(0.3, 0.3, len(st))]).astype(np.float32)
    dark = np.concatenate([np.full(nb, 0.09), rng.uniform(0.07, 0.09 + 0.06 * atypia, len(tum)),
                           np.where(lymph, 0.16, 0.1)]).astype(np.float32)
    return centres, a, b, ang, dark


def make(rng: np.random.Generator, difficulty: float, size: int, **p) -> Phantom:
    """One H&E tile ``(size, size, 3)`` uint8 with its tumour mask."""
    d = difficulty
    def get(k, lo, hi):  # drawn always, so fixing one parameter keeps the others
        x = float(rng.uniform(lo, hi))
        return x if p.get(k) is None else float(p[k])

    kind, mixed = rng.choice(3, p=[0.25, 0.2, 0.55]), float(rng.uniform(0.2, 0.8))
    frac = (0.0, 1.0, mixed)[kind] if p.get("tumour_fraction") is None else float(p["tumour_fraction"])
    density, atypia = get("gland_density", 0.2, 0.8), get("nuclear_atypia", 0.9 - 0.6 * d, 1.0 - 0.3 * d)
    jitter = get("stain_jitter", 0.2, 0.4 + 0.5 * d)
    field_um = float(p["field_um"]) if p.get("field_um") is not None else 256.0
    shape, um = (size, size), field_um / size  # micrometres per pixel
    tumour = _tumour_region(rng, shape, frac, (120 - 60 * d) / um)  # harder: a more ragged front
    g = _glands(rng, shape, tumour, um, density, d)
    centres, a, b, ang, dark = _nuclei(rng, shape, g, um, atypia)
    cover, nid = C.ellipses(shape, centres, a, b, ang, soft=0.6)
    fibres = C.smooth_noise(rng, shape, 3 / um, aspect=4.0)
    tum_px = g["is_t"][g["idx"]]
    epi = g["epi"] & ~g["lum"]
    mucin = epi & ~tum_px & (g["rel"] < g["lumen"][g["idx"]] + 0.3) & (C.smooth_noise(rng, shape, 2.5 / um) > -0.3)
    E = np.where(epi, np.where(tum_px, 0.022, 0.018), 0.025 + 0.006 * fibres)
    E = np.where(mucin, 0.008, E)
    E = np.where(g["lum"] | (~g["epi"] & (fibres > 2.3)), 0.002, E)  # lumina and stromal clefts
    H = np.where(epi, np.where(tum_px, 0.03, 0.016), 0.004)
    chrom = 1 + 0.25 * rng.standard_normal(shape, dtype=np.float32)
    H = H + cover * (dark[nid] * chrom - H)
    E = E * (1 - 0.6 * cover)
    gains = np.exp(rng.normal(0, 0.3 * jitter, 3))
    residual = np.where(g["lum"], 0.002, 0.016 * gains[2])  # warms eosin from magenta to pink
    hed = np.stack([H * gains[0], E * gains[1], residual], -1).astype(np.float32)
    rgb = hed2rgb(ndi.gaussian_filter(hed, (0.5, 0.5, 0))) * 255
    rgb += rng.normal(0, 2.5, rgb.shape).astype(np.float32)
    params = {"tumour_fraction": frac, "gland_density": density,
              "nuclear_atypia": atypia, "stain_jitter": jitter, "field_um": field_um,
              "stain_gains": [round(float(x), 4) for x in gains], "n_glands": int(len(g["pts"])),
              "n_tumour_glands": int(g["is_t"].sum()), "n_entrapped_glands": int(g["n_entrapped"]),
              "n_nuclei": int(len(centres))}
    image = MedImage(C.to_uint8(rgb), spacing=(um / 1000, um / 1000), modality="SM",
                     source="phantom:gastric", format="phantom")
    return Phantom(image, None, tumour.astype(np.uint8), params)


register_generator("gastric", make, PARAMS, default_size=128)

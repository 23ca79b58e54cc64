"""Hippocampus MRI phantom: a T1-weighted crop around one hippocampus, like MSD Task04.

The volume is ``(Z, Y, X)`` = (superior, anterior, right), ``(size, 1.5 size, size)``
voxels over 36 x 54 x 36 mm (1 mm voxels at size 36). The hippocampus is a curved tube
along an anterior-posterior centre line: a thick head (label 1, anterior and inferior)
with digitations on its upper surface, a body/tail (label 2) that thins, rises and
curls medially. Around it, as on a real crop: the temporal horn of the lateral
ventricle (dark CSF) over its superolateral side with the alveus (a thin white-matter
rim) between, temporal white matter laterally and above, the parahippocampal gyrus
(grey matter, subtle boundary) below, the amygdala (grey matter) in front of the head,
the ambient cistern (CSF) medially, and cortex with sulci elsewhere.

T1 contrast: white matter brightest, grey matter (and hippocampus) about half as bright,
CSF dark (intensity ratios and histogram matched to the MSD Task04 crops); tissue texture, a
smooth multiplicative bias field and Rician noise. Atrophy (0 control .. 1 marked AD)
shrinks the hippocampus and widens the temporal horn, the cistern and the sulci; its prior
favours mild atrophy, as MSD Task04 scans no Alzheimer's patients.
The side "left" mirrors the crop along X.

What outlines the hippocampus is its white-matter wrapping (subiculum and parahippocampal
white matter below, alveus above and in front): in MSD Task04 the two voxels around it are
1.2-1.5 times as bright as inside (mean 1.34). Difficulty fades that rim (about 1.5 at
0.2, 1.3 at 0.5, 1.2 at 0.8), brings the hippocampus closer to cortical grey, widens the
partial-volume blur and raises the bias field and the noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medlearn.data.image import MedImage, Window
from medlearn.data.phantoms import anatomy3d as a3
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator

FOV_MM = 36.0
WM, GM, CSF = 640.0, 330.0, 70.0  # MSD Task04 crops: hippocampus ~0.45, CSF ~0.1 of white matter

PARAMS = (
    ParamSpec("atrophy", "Atrophy", 0.0, 1.0, None, 0.05,
              "0 healthy control, 1 marked Alzheimer's atrophy (smaller hippocampus, wider CSF)."),
    ParamSpec("side", "Side", choices=("left", "right")),
    ParamSpec("head_fraction", "Head fraction of the length", 0.3, 0.55, None, 0.01,
              "Where the head (label 1) ends along the anterior-posterior line."),
)


def make(rng: np.random.Generator, difficulty: float = 0.5, size: int = 32, **params) -> Phantom:
    """One T1-like crop ``(size, 1.5 size, size)`` with mask 0 bg, 1 head, 2 body/tail."""
    difficulty, size = a3.check_common(difficulty, size, 16)
    r = a3.ParamResolver("hippocampus", PARAMS, params)
    # MSD Task04 scans healthy adults and psychosis patients (mean 3,400 mm3): mostly mild atrophy
    atrophy = r.get("atrophy", lambda: round(float(rng.beta(1.0, 3.0)), 3))
    side = r.get("side", lambda: str(rng.choice(["left", "right"])))
    split = r.get("head_fraction", lambda: round(float(rng.uniform(0.33, 0.40)), 3))
    shape = (size, size + size // 2, size)
    spacing = (FOV_MM / size,) * 3
    z, y, x = a3.grid_mm(shape, spacing)
    geo = _geometry(rng, atrophy)
    warp = [2.0 * a3.coarse_field(rng, shape, 6.0) for _ in range(3)]  # organic, not ruler-straight
    t_plane = (geo["y_head"] - y) / geo["length"]  # the head/body boundary stays a coronal plane
    z, y, x = z + warp[0], y + 0.5 * warp[1], x + warp[2]
    t = (geo["y_head"] - y) / geo["length"]  # 0 at the front of the head, 1 at the tail end
    tc = np.clip(t, -0.35, 1.35)
    u = (x - (geo["x0"] - geo["medial"] * np.clip(t, 0, None) ** 2)) * np.ones_like(z)
    w = z - (geo["z0"] + geo["rise"] * tc + geo["curl"] * np.clip(t, 0, None) ** 2)
    ax, az = _radii(geo, np.clip(t, 0, 1), u)
    cap = np.where(t < 0, t * geo["length"] / 5.5, np.where(t > 1, (t - 1) * geo["length"] / 2.5, 0.0))
    rho = np.sqrt((u / ax) ** 2 + (w / az) ** 2 + cap ** 2)
    edge = spacing[0]
    f1, f2 = a3.coarse_field(rng, shape, 2.5), a3.coarse_field(rng, shape, 5.0)
    img = _cortex(f1, f2, atrophy)
    soft = lambda d: a3.soft_inside(d, edge)  # noqa: E731
    band = lambda v, lo, hi: soft(np.abs(v - (lo + hi) / 2) - (hi - lo) / 2)  # noqa: E731
    along = (t > -0.15) * (t < 1.15)
    beyond = np.maximum(u - ax - 1.0, w - az - geo["horn"] - 1.5) + 2.0 * f2
    img += band(beyond, 0.0, 4.5 + 2.0 * f1) * (WM - img)  # temporal white matter, then cortex further out
    img += band(w, -az - 5.0 + f1, -az + 1.0) * band(u, -ax - 3.0, 0.4 * ax) * along * (GM - img)
    img += soft(w + az + 5.0 - f1) * band(u, -ax - 2.0, 1.5 * ax) * along * (WM - img)  # its white matter
    img += band(u, 0.3 * ax, 0.3 * ax + 1.0 + 0.5 * atrophy) * band(w, -az - 7.0 + 2 * f2, -az + 0.5) * along * (CSF - img)
    img += soft(np.sqrt(u ** 2 + (w - 2.0) ** 2 + ((t + 0.22) * geo["length"]) ** 2) / 1.4 - geo["ax_head"]) \
        * (GM * 1.02 - img)  # amygdala in front of and over the head
    # white matter wrapping the hippocampus (subiculum and parahippocampal white matter below, the
    # alveus between head and amygdala): what makes its outline visible; fainter with difficulty
    img += soft((rho - 1.0) * az - 1.3) * (1.05 - 0.7 * difficulty) * (WM - img)
    medial = u + ax + 0.7
    img += soft(medial + geo["cistern"] + 0.7 * f1) * (t > -0.1) * (CSF - img)  # ambient cistern
    img += soft(medial + geo["cistern"] + 3.0 + f2) * (t > -0.1) * (1.15 * GM - img)  # midbrain
    horn = np.sqrt(((u - 0.35 * ax) / (1.05 * ax)) ** 2 + ((w - az - 0.9 - geo["horn"] / 2) / (geo["horn"] / 2)) ** 2)
    img += soft((horn - 1.0) * geo["horn"] / 2) * ((t > -0.1) & (t < 1.05)) * (CSF - img)
    img += soft((rho - 1.0) * az - 0.9) * (w > 0) * (WM - img)  # alveus over the upper surface
    contrast = 0.86 + 0.12 * difficulty  # hippocampal grey matter against cortex (MSD: darker than its rim)
    img += (occ := soft((rho - 1.0 + 0.06 * f2) * az)) * (GM * contrast + 8.0 * f1 - img)
    mask = np.where(occ >= 0.5, np.where(t_plane < split, 1, 2), 0).astype(np.uint8)
    img = img * (1.0 + 0.07 * a3.smooth_field(rng, shape, 0.8))  # tissue heterogeneity
    blur = 0.55 + 0.4 * difficulty  # partial volume of 1 mm voxels (0.75 at the default difficulty)
    img = ndimage.gaussian_filter(img, blur) * rng.uniform(0.8, 1.25)
    img = a3.rician(rng, img * a3.bias_field(rng, [z, y, x], 0.08 + 0.2 * difficulty),
                    (0.02 + 0.08 * difficulty) * WM)
    if side == "left":
        img, mask = img[..., ::-1].copy(), mask[..., ::-1].copy()
    voxel = float(np.prod(spacing))
    p = dict(r.drawn, **{k: round(float(v), 3) for k, v in geo.items()}, spacing_mm=list(spacing),
             volume_head_mm3=round(float((mask == 1).sum()) * voxel, 2),
             volume_body_mm3=round(float((mask == 2).sum()) * voxel, 2))
    p["volume_mm3"] = round(p["volume_head_mm3"] + p["volume_body_mm3"], 2)
    hi = float(np.percentile(img, 99.5))
    image = MedImage(img.astype(np.float32), spacing, "MR", "SAR", Window(hi / 2, hi, "T1"), (),
                     "phantom:hippocampus", "phantom", {"side": side})
    return Phantom(image, None, mask, p)


def _geometry(rng: np.random.Generator, atrophy: float) -> dict:
    """Centre line and cross-section sizes in mm (shrunk by atrophy)."""
    shrink = 1.0 - 0.28 * atrophy
    length = rng.uniform(34.0, 40.0) * (1.0 - 0.08 * atrophy)
    return dict(
        length=length, y_head=length / 2 - 1.5 + rng.uniform(-2.0, 2.0), x0=rng.uniform(-2.0, 2.0),
        z0=rng.uniform(-7.0, -4.0), rise=rng.uniform(8.0, 12.0), curl=rng.uniform(2.0, 5.0),
        medial=rng.uniform(3.0, 8.0), ax_head=rng.uniform(7.5, 9.0) * shrink, az_head=rng.uniform(5.0, 6.0) * shrink,
        ax_tail=rng.uniform(3.5, 4.5) * shrink, az_tail=rng.uniform(2.8, 3.5) * shrink,
        horn=1.0 + 4.0 * atrophy + rng.uniform(0, 1.0), cistern=1.0 + 3.0 * atrophy + rng.uniform(0, 1.5),
        digit_mm=rng.uniform(4.0, 6.0), phase=rng.uniform(0, 2 * np.pi),
    )


def _radii(geo: dict, t: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mediolateral and vertical semi-axes (mm) along the line; digitations on the head."""
    s = (1.0 - t) ** 1.3
    ax = geo["ax_tail"] + (geo["ax_head"] - geo["ax_tail"]) * s
    az = geo["az_tail"] + (geo["az_head"] - geo["az_tail"]) * s
    digits = 1.0 + 0.12 * np.cos(2 * np.pi * u / geo["digit_mm"] + geo["phase"]) * (t < 0.35)
    return ax, az * digits


def _cortex(f1: np.ndarray, f2: np.ndarray, atrophy: float) -> np.ndarray:
    """Background T1 tissue: grey/white matter blobs cut by CSF sulci (wider with atrophy)."""
    wm = a3.soft_inside(-(f2 - 0.45) * 4.0, 1.0)
    img = GM + (WM - GM) * wm
    sulci = a3.soft_inside((np.abs(f1 - 0.3) - 0.10 - 0.08 * atrophy) * 8.0, 1.0) * (1 - wm)
    return (img + sulci * (CSF - img)).astype(np.float32)


register_generator("hippocampus", make, PARAMS, 32, max_size=128)

"""Lung-nodule CT phantom: a cube of lung in Hounsfield units around one nodule.

Anatomy: parenchyma near -860 HU with soft texture, a branching vessel tree (blood
+40 HU, tapering, partial volume), for some cubes the chest wall at one side (pleura and
intercostal muscle +40 HU, fat -100 HU, ribs with a cortical rim), a nodule that is
solid (0..60 HU), part-solid (a solid core in ground glass) or ground-glass
(-600..-300 HU), lobulated and optionally spiculated (thin radial spikes), solid ones
sometimes with a benign calcification pattern (central, diffuse, popcorn or laminated,
calcium 300..900 HU). Scanner blur and correlated noise (sigma 12..60 HU with difficulty).

Label rule (in the spirit of Lung-RADS v2022):

* a benign calcification pattern -> benign (0);
* otherwise malignant (1) when the nodule is spiculated (spiculation >= 0.5) with a
  solid diameter >= 8 mm, or part-solid with a solid component >= 6 mm, or any nodule
  of diameter >= 15 mm;
* everything else (small, smooth, ground-glass below 15 mm) -> benign.

Rule noise: at difficulty d the three size thresholds are multiplied by one factor
``exp(N(0, 0.5 d))`` and the spiculation threshold shifted by ``N(0, 0.3 d)``
(recorded in params), so classes overlap near the boundary as readers' ratings do.

Geometry: a cube of ``size`` voxels over 45 mm in-plane, slices 1.25 x thicker
(0.70 x 0.70 x 0.88 mm at 64, 1.41 x 1.41 x 1.76 mm at 32). Arrays are ``(Z, Y, X)``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import ndimage

from medlearn.data.image import MedImage, Window
from medlearn.data.phantoms import anatomy3d as a3
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator

FOV_MM = 45.0
LUNG = Window(-600.0, 1500.0, "lung")
MEDIASTINUM = Window(50.0, 350.0, "mediastinum")
TYPES = ("solid", "part-solid", "ground-glass")
CALCIFICATIONS = ("none", "central", "diffuse", "popcorn", "laminated")

PARAMS = (
    ParamSpec("type", "Nodule type", choices=TYPES, help="Solid, part-solid (solid core in ground glass) or ground-glass."),
    ParamSpec("diameter_mm", "Diameter (mm)", 4.0, 30.0, None, 0.5, "Mean diameter of the whole nodule."),
    ParamSpec("solid_diameter_mm", "Solid component (mm)", 1.0, 30.0, None, 0.5, "Part-solid only: core diameter."),
    ParamSpec("spiculation", "Spiculation", 0.0, 1.0, None, 0.05, "0 smooth margin, 1 many long spikes."),
    ParamSpec("lobulation", "Lobulation", 0.0, 1.0, None, 0.05, "Bumps of the margin."),
    ParamSpec("calcification", "Calcification", choices=CALCIFICATIONS, help="Benign patterns argue against cancer."),
    ParamSpec("chest_wall", "Chest wall in view", choices=("no", "yes")),
)


def make(rng: np.random.Generator, difficulty: float = 0.5, size: int = 32, **params) -> Phantom:
    """One CT cube ``(size, size, size)`` in HU (int16) with its nodule mask and label."""
    difficulty, size = a3.check_common(difficulty, size, 16)
    p = _draw(rng, difficulty, a3.ParamResolver("lung", PARAMS, params))
    spacing = (1.25 * FOV_MM / size, FOV_MM / size, FOV_MM / size)
    shape = (size, size, size)
    grids = a3.grid_mm(shape, spacing)
    centre = rng.uniform(-2.0, 2.0, 3)
    lung_occ, wall_hu, wall_occ = _chest_wall(rng, grids, spacing, centre, p)
    hu = -860.0 + 22.0 * a3.smooth_field(rng, shape, 1.5) * (0.5 + 0.5 * a3.coarse_field(rng, shape, 6.0) ** 2)
    vessels = a3.vessel_tree(rng, shape, spacing, difficulty) * lung_occ
    hu += vessels * (rng.uniform(20.0, 60.0) - hu)
    nodule = Nodule.draw(rng, p, centre, spacing)
    occ, core, calc, analytic_mm3 = nodule.render(grids, spacing, a3.smooth_field(rng, shape, 1.2))
    glass = 60.0 if p["type"] != "solid" else 12.0
    hu += occ * (nodule.base_hu + glass * a3.smooth_field(rng, shape, 1.0) - hu)
    hu += core * (rng.uniform(0.0, 60.0) - hu)
    hu += calc * (rng.uniform(300.0, 900.0) - hu)
    hu += wall_occ * (wall_hu - hu)
    hu = ndimage.gaussian_filter(hu, 0.5)
    sigma_hu = 12.0 + 48.0 * difficulty  # low-dose screening CT: about 20-60 HU
    hu += sigma_hu * a3.smooth_field(rng, shape, 0.9)
    mask = (occ >= 0.5).astype(np.uint8)
    voxel_mm3 = float(np.prod(spacing))
    p.update(
        spacing_mm=list(spacing), center_mm=[round(float(c), 3) for c in centre],
        center_vox=[int(round(c / s + (n - 1) / 2)) for c, s, n in zip(centre, spacing, shape)],
        volume_mm3=round(float(mask.sum()) * voxel_mm3, 2), volume_mm3_analytic=round(analytic_mm3, 2),
        eq_diameter_mm=round((6 * analytic_mm3 / math.pi) ** (1 / 3), 2), noise_hu=round(sigma_hu, 1),
        spicule_count=nodule.n_spicules,
    )
    image = MedImage(
        np.clip(np.rint(hu), -1024, 3071).astype(np.int16), spacing, "CT", "ZYX", LUNG,
        (LUNG, MEDIASTINUM), "phantom:lung", "phantom",
    )
    return Phantom(image, p["label"], mask, p)


def _draw(rng: np.random.Generator, d: float, r: a3.ParamResolver) -> dict:
    kind = r.get("type", lambda: str(rng.choice(TYPES, p=[0.6, 0.2, 0.2])))
    diameter = r.get("diameter_mm", lambda: round(float(math.exp(rng.uniform(math.log(4), math.log(30)))), 2))
    solid = r.get("solid_diameter_mm", lambda: round(max(1.5, diameter * rng.uniform(0.25, 0.75)), 2))
    solid = min(solid, 0.9 * diameter) if kind == "part-solid" else (diameter if kind == "solid" else 0.0)
    p_spic = 0.15 + 0.6 * (diameter - 4) / 26 if kind != "ground-glass" else 0.05
    spic = r.get("spiculation", lambda: round(float(rng.uniform(0.5, 1.0) if rng.random() < p_spic else rng.uniform(0, 0.35)), 3))
    lob = r.get("lobulation", lambda: round(float(rng.uniform(0.0, 1.0)), 3))
    calc = r.get("calcification", lambda: str(rng.choice(CALCIFICATIONS[1:]))
                 if kind == "solid" and diameter < 20 and rng.random() < 0.3 else "none")
    if kind != "solid":
        calc = "none"  # calcification patterns are read on solid nodules only
    r.get("chest_wall", lambda: "yes" if rng.random() < 0.35 else "no")
    factor = float(math.exp(rng.normal(0.0, 0.5 * d)))
    spic_cut = float(0.5 + rng.normal(0.0, 0.3 * d))
    label = label_rule(kind, diameter, solid, spic, calc, factor, spic_cut)
    p = dict(r.drawn, solid_diameter_mm=round(solid, 2), calcification=calc, label=label,
             rule_size_factor=round(factor, 4), rule_spiculation_cut=round(spic_cut, 4))
    p["lungrads"] = lungrads(kind, diameter, solid, spic, calc)
    return p


def label_rule(kind: str, diameter: float, solid: float, spiculation: float, calcification: str,
               factor: float = 1.0, spic_cut: float = 0.5) -> int:
    """The documented benign (0) / malignant (1) rule (see the module docstring)."""
    if calcification != "none":
        return 0
    if kind != "ground-glass" and solid >= 8 * factor and spiculation >= spic_cut:
        return 1
    if kind == "part-solid" and solid >= 6 * factor:
        return 1
    return int(diameter >= 15 * factor)


def lungrads(kind: str, diameter: float, solid: float, spiculation: float, calcification: str) -> str:
    """A Lung-RADS-like category: "2", "3", "4A", "4B" or "4X" (suspicious extra features)."""
    if calcification != "none":
        return "2"
    if kind == "ground-glass":
        cat = "2" if diameter < 30 else "3"
    elif kind == "part-solid":
        cat = "3" if solid < 6 else ("4A" if solid < 8 else "4B")
    else:
        cat = "2" if diameter < 6 else "3" if diameter < 8 else "4A" if diameter < 15 else "4B"
    return "4X" if spiculation >= 0.5 and cat in ("3", "4A", "4B") else cat


def central_slice(phantom: Phantom) -> Phantom:
    """The axial slice through the nodule centre (2D image and mask) for 2D models."""
    z = int(np.clip(phantom.params["center_vox"][0], 0, phantom.image.shape[0] - 1))
    image = replace(phantom.image, pixels=phantom.image.pixels[z], spacing=phantom.image.spacing[1:],
                    orientation="2D", source=f"{phantom.image.source}:slice{z}", meta={})
    mask = None if phantom.mask is None else phantom.mask[z]
    return Phantom(image, phantom.label, mask, {**phantom.params, "slice_index": z})


class Nodule:
    """A lobulated, optionally spiculated and calcified nodule; geometry in mm around ``centre``."""

    def __init__(self, p: dict, centre: np.ndarray, lobes: np.ndarray, weights: np.ndarray,
                 spicules: list, base_hu: float, calc_blobs: np.ndarray) -> None:
        self.p, self.centre, self.lobes, self.weights = p, centre, lobes, weights
        self.spicules, self.base_hu, self.calc_blobs = spicules, base_hu, calc_blobs
        self.r0 = p["diameter_mm"] / 2
        self.n_spicules = len(spicules)

    @classmethod
    def draw(cls, rng: np.random.Generator, p: dict, centre: np.ndarray, spacing: tuple) -> "Nodule":
        lobes, weights = a3.random_unit(rng, 6), rng.uniform(0.3, 1.0, 6)
        base_hu = rng.uniform(0.0, 60.0) if p["type"] == "solid" else rng.uniform(-600.0, -300.0)
        self = cls(p, centre, lobes, weights, [], base_hu, rng.uniform(-0.55, 0.55, (int(rng.integers(4, 9)), 3)))
        n_spic = int(round(p["spiculation"] * 24)) if p["spiculation"] > 0.15 else 0
        for u in a3.random_unit(rng, n_spic):
            length = self.r0 * rng.uniform(0.5, 1.5) * p["spiculation"] + 2.5
            self.spicules.append((u, length, 0.5 + 0.9 * p["spiculation"], 0.25))
        return self

    def radius(self, cosines: np.ndarray) -> np.ndarray:
        """Surface radius (mm) for direction cosines with the lobe axes, ``(..., 6)``."""
        kappa = 8.0
        mean = (1 - math.exp(-2 * kappa)) / (2 * kappa)
        bumps = np.einsum("...k,k->...", np.exp(kappa * (cosines - 1.0)) - mean, self.weights)  # no BLAS threads
        return self.r0 * (1.0 + 0.35 * self.p["lobulation"] * bumps)

    def render(self, grids: list, spacing: tuple, rough: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Occupancies (nodule, solid core, calcium) on the grid and the analytic volume (mm3).

        ``rough`` (unit-std field of the grid's shape) roughens the margin of irregular nodules.
        """
        d = [g - c for g, c in zip(grids, self.centre)]
        rr = np.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2) + 1e-6
        cos = np.stack([(d[0] * l[0] + d[1] * l[1] + d[2] * l[2]) / rr for l in self.lobes], -1)
        edge = float(min(spacing))
        irregular = 0.08 * self.r0 * max(self.p["spiculation"], 0.5 * self.p["lobulation"])
        occ = a3.soft_inside(rr - self.radius(cos) + irregular * rough, edge)
        spikes = np.zeros(occ.shape, np.float32)
        volume = 4 / 3 * math.pi * float(np.mean(self.radius(a3.fibonacci_sphere(4000) @ self.lobes.T) ** 3))
        for u, length, r0, r1 in self.spicules:
            surface = float(self.radius(self.lobes @ u))
            start, stop = self.centre + u * 0.5 * surface, self.centre + u * (surface + length)
            a3.add_tube(spikes, spacing, start, stop, r0, r1)
            r_s = r0 + (r1 - r0) * (0.5 * surface) / (0.5 * surface + length)
            volume += math.pi / 3 * length * (r_s ** 2 + r_s * r1 + r1 ** 2) + 2 / 3 * math.pi * r1 ** 3
        occ = np.maximum(occ, spikes)
        core = np.zeros((), np.float32)
        if self.p["type"] == "part-solid":
            r_core = self.p["solid_diameter_mm"] / 2 * (1 + 0.15 * self.p["lobulation"] * (cos[..., 0] - 0.2))
            core = a3.soft_inside(rr - r_core, edge) * occ
        return occ, core, self._calcium(rr, edge, d) * occ, volume

    def _calcium(self, rr: np.ndarray, edge: float, d: list) -> np.ndarray:
        pattern, r0 = self.p["calcification"], self.r0
        if pattern == "central":
            return a3.soft_inside(rr - 0.35 * r0, edge)
        if pattern == "diffuse":
            return np.full(rr.shape, 0.8, np.float32)
        if pattern == "laminated":
            shells = [a3.soft_inside(np.abs(rr - f * r0) - 0.6, edge) for f in (0.3, 0.55, 0.8)]
            return np.maximum.reduce(shells + [a3.soft_inside(rr - 0.12 * r0, edge)])
        if pattern == "popcorn":
            blobs = [a3.soft_inside(np.sqrt(sum((di - b * r0) ** 2 for di, b in zip(d, blob))) - 0.2 * r0, edge)
                     for blob in self.calc_blobs]
            return np.maximum.reduce(blobs)
        return np.zeros((), np.float32)


def _chest_wall(rng: np.random.Generator, grids: list, spacing: tuple, centre: np.ndarray, p: dict):
    """(lung occupancy, wall HU, wall occupancy): pleura/muscle, fat and ribs beyond a curved plane."""
    if p["chest_wall"] == "no":
        return 1.0, 0.0, 0.0
    angle = rng.uniform(0, 2 * math.pi)
    n = np.array([rng.normal(0, 0.15), math.cos(angle), math.sin(angle)])
    n /= np.linalg.norm(n)
    dist = min(float(n @ centre) + p["diameter_mm"] / 2 + rng.uniform(3.0, 12.0), 0.47 * FOV_MM)
    along = sum(g * ni for g, ni in zip(grids, n))
    perp2 = sum(g * g for g in grids) - along ** 2
    depth = along - dist + perp2 / (2 * rng.uniform(120.0, 220.0))
    edge = float(min(spacing))
    wall = a3.soft_inside(-depth, edge)
    muscle = rng.uniform(3.0, 8.0)
    fat = a3.soft_inside(muscle + 1.5 * a3.coarse_field(rng, wall.shape, 4.0) - depth, edge)
    wall_hu = 45.0 * (1 - fat) - 100.0 * fat
    rib_axis = np.cross(n, [1.0, 0.0, 0.0])
    rib_axis /= max(np.linalg.norm(rib_axis), 1e-6)
    step = np.cross(n, rib_axis)
    rib_r = rng.uniform(4.0, 6.0)
    for k in range(-2, 3):
        mid = n * (dist + 1.5 + rib_r) + step * (k * rng.uniform(20.0, 26.0) + rng.uniform(-5, 5))
        rib, core = np.zeros(wall.shape, np.float32), np.zeros(wall.shape, np.float32)
        for occ, r in ((rib, rib_r), (core, rib_r - 1.3)):
            a3.add_tube(occ, spacing, mid - rib_axis * FOV_MM, mid + rib_axis * FOV_MM, r, r)
        wall_hu += rib * (750.0 - wall_hu)
        wall_hu += core * (220.0 - wall_hu)
    return 1.0 - wall, wall_hu, wall


register_generator("lung", make, PARAMS, 32, max_size=128)

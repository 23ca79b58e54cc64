"""Axial chest CT slices with 0..N lung nodules and their exact masks (the nodule detection study).

The anatomy of a whole slice, drawn in millimetres over a 340 mm field of view, array
``(Y, X)`` with rows running front (top) to back:

* air around an elliptical body (semi-axes 135-155 x 95-115 mm), subcutaneous fat
  (-100 HU, 6-18 mm), chest-wall muscle (+45 HU), 8-12 ribs in cross-section (cortex
  700 HU, marrow 250 HU), a sternum at the front and a vertebra at the back (cortex and
  cancellous bone, the spinal canal at +30 HU);
* two lungs, irregular ellipses, the left one indented by the heart, parenchyma near
  -860 HU with soft texture; the mediastinum and heart between them at +40 HU;
* lung vessels as the lung phantom draws them (:func:`~medlearn.data.phantoms.anatomy3d.add_tube`,
  tapering, +20..+60 HU with partial volume): three or four generations of branches running
  in the slice from each hilum, and vessels crossing it seen as round dots of 0.5-3 mm
  radius (more, and larger, with difficulty): the dots are what a detector mistakes for
  small nodules;
* nodules drawn exactly as :mod:`medlearn.data.phantoms.lung` draws them (its type, size,
  lobulation, spiculation and calcification prior and its :class:`~medlearn.data.phantoms.lung.Nodule`),
  rendered on a one-slice grid through each nodule (the plane within a quarter radius of
  its centre); centres inside a lung, never touching another nodule (5 mm apart).
  Diameters are log-uniform from ``10 - 6 * difficulty`` mm (7 mm at the default 0.5) to
  30 mm. The number of nodules is 0 (30 % of slices), 1 (40 %), 2 (20 %) or 3 (10 %);
* scanner blur and correlated noise (sigma 12..60 HU with difficulty), as the cube phantom.

Truth: ``mask`` is 1 on nodule pixels (occupancy >= 0.5), 0 elsewhere; each nodule is one
connected region, so its bounding box is exact (``params["nodules"][i]["box"]``,
``x0, y0, x1, y1`` with the stop one past the last pixel, as ``medlearn.models.instances``).

:func:`composite` builds the LIDC-derived slices (see its doc): real nodules from the
LIDC-IDRI crops pasted into these phantom lungs.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import replace
from typing import Callable

import numpy as np
from scipy import ndimage

from medlearn.data.image import MedImage
from medlearn.data.phantoms import anatomy3d as a3
from medlearn.data.phantoms import lung
from medlearn.data.phantoms.base import ParamSpec, Phantom, register_generator
from medlearn.errors import MedlearnInputError

FOV_MM = 340.0
SLICE_MM = 1.25  # the nodules' grid is one slice of this thickness
COUNT_PRIOR = (0.3, 0.4, 0.2, 0.1)  # P(0, 1, 2, 3 nodules)
MAX_NODULES = 4
GAP_MM = 5.0

PARAMS = (
    ParamSpec("n_nodules", "Nodules on the slice", 0, MAX_NODULES, None, 1,
              "How many nodules (drawn: none on 30 % of slices, one on 40 %, two on 20 %, three on 10 %).",
              integer=True),
    ParamSpec("type", "Nodule type", choices=lung.TYPES, help="Solid, part-solid or ground-glass (all nodules)."),
    ParamSpec("diameter_mm", "Diameter (mm)", 4.0, 30.0, None, 0.5, "Mean diameter of every nodule."),
)


def make(rng: np.random.Generator, difficulty: float = 0.5, size: int = 192, **params) -> Phantom:
    """One axial chest slice ``(size, size)`` in HU (int16), its nodule mask and their boxes."""
    difficulty, size = a3.check_common(difficulty, size, 64, 512)
    r = a3.ParamResolver("lung_detection", PARAMS, params)
    s = FOV_MM / size
    anatomy = chest(rng, size, difficulty)
    hu, lungs = anatomy["hu"], anatomy["lungs"]
    count = int(r.get("n_nodules", lambda: int(rng.choice(len(COUNT_PRIOR), p=COUNT_PRIOR))))
    kind = r.get("type", lambda: None) if "type" in r.given else None  # else drawn per nodule
    diameter = r.get("diameter_mm", lambda: None) if "diameter_mm" in r.given else None
    grids = a3.grid_mm((1, size, size), (SLICE_MM, s, s))
    mask = np.zeros((size, size), np.uint8)
    placed: list[tuple[np.ndarray, float]] = []
    nodules = []
    for _ in range(count):
        p = _nodule_params(rng, difficulty, kind, diameter)
        centre = _place(rng, lungs, s, p["diameter_mm"] / 2, placed)
        if centre is None:  # no room left in these lungs: fewer nodules, said in params
            break
        placed.append((centre, p["diameter_mm"] / 2))
        z = rng.uniform(-0.25, 0.25) * p["diameter_mm"] / 2  # the slice passes near the centre
        nodule = lung.Nodule.draw(rng, p, np.array([z, *centre]), (SLICE_MM, s, s))
        occ, core, calc, _ = nodule.render(grids, (SLICE_MM, s, s), a3.smooth_field(rng, (1, size, size), 1.2))
        occ, core, calc = (np.broadcast_to(a, (1, size, size))[0] for a in (occ, core, calc))
        glass = 60.0 if p["type"] != "solid" else 12.0
        hu += occ * (nodule.base_hu + glass * a3.smooth_field(rng, (size, size), 1.0) - hu)
        hu += core * (rng.uniform(0.0, 60.0) - hu)
        hu += calc * (rng.uniform(300.0, 900.0) - hu)
        region = occ >= 0.5
        region = region & ~mask.astype(bool)
        if not region.any():
            continue
        mask[region] = 1
        rows, cols = np.nonzero(region)
        nodules.append({
            "type": p["type"], "diameter_mm": p["diameter_mm"], "spiculation": p["spiculation"],
            "calcification": p["calcification"],
            "centre_px": [round(float(centre[0] / s + (size - 1) / 2), 2), round(float(centre[1] / s + (size - 1) / 2), 2)],
            "box": [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1],
        })
    hu = ndimage.gaussian_filter(hu, 0.6)
    sigma_hu = 12.0 + 48.0 * difficulty
    hu += sigma_hu * a3.smooth_field(rng, (size, size), 0.9)
    # a region split by the noise into pieces would give several boxes: each nodule is one region
    mask = _one_region_each(mask, nodules)
    image = MedImage(np.clip(np.rint(hu), -1024, 3071).astype(np.int16), (s, s), "CT", "2D", lung.LUNG,
                     (lung.LUNG, lung.MEDIASTINUM), "phantom:lung_detection", "phantom")
    drawn = dict(r.drawn, n_nodules=len(nodules), nodules=nodules, noise_hu=round(sigma_hu, 1),
                 fov_mm=FOV_MM, spacing_mm=[s, s])
    return Phantom(image, None, mask, drawn)


def _nodule_params(rng: np.random.Generator, d: float, kind: str | None, diameter: float | None) -> dict:
    """The cube phantom's nodule prior (type, spiculation, lobulation, calcification), with the
    detection study's diameter range (module doc)."""
    low = 10.0 - 6.0 * d
    drawn = diameter if diameter is not None else float(math.exp(rng.uniform(math.log(low), math.log(30.0))))
    given = {"diameter_mm": round(drawn, 2), "chest_wall": "no"}
    if kind is not None:
        given["type"] = kind
    return lung._draw(rng, d, a3.ParamResolver("lung", lung.PARAMS, given))


def _place(rng: np.random.Generator, lungs: np.ndarray, s: float, radius: float,
           placed: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
    """A centre (y, x) in mm (array-centred) inside a lung, at least ``GAP_MM`` from every
    placed nodule; None when 50 tries find no room."""
    inner = ndimage.binary_erosion(lungs, iterations=max(1, int(0.5 * radius / s)))
    rows, cols = np.nonzero(inner if inner.any() else lungs)
    if not len(rows):
        return None
    n = lungs.shape[0]
    for _ in range(50):
        k = int(rng.integers(len(rows)))
        centre = (np.array([rows[k], cols[k]], np.float64) - (n - 1) / 2 + rng.uniform(-0.5, 0.5, 2)) * s
        if all(np.linalg.norm(centre - c) > radius + rc + GAP_MM for c, rc in placed):
            return centre
    return None


def _one_region_each(mask: np.ndarray, nodules: list[dict]) -> np.ndarray:
    """Keep, of each nodule's pixels, the connected region that holds most of them (a thin
    spicule cut off by the slice would otherwise be a box of its own)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == len(nodules):
        return mask
    keep = np.zeros_like(mask)
    for nod in nodules:
        x0, y0, x1, y1 = nod["box"]
        window = labels[y0:y1, x0:x1]
        ids, counts = np.unique(window[window > 0], return_counts=True)
        if len(ids):
            keep[labels == ids[np.argmax(counts)]] = 1
    for nod in nodules:  # boxes of the kept regions
        x0, y0, x1, y1 = nod["box"]
        rows, cols = np.nonzero(keep[y0:y1, x0:x1])
        if len(rows):
            nod["box"] = [x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1, y0 + int(rows.max()) + 1]
    return keep


def chest(rng: np.random.Generator, size: int, difficulty: float) -> dict[str, np.ndarray]:
    """The slice without nodules: ``{"hu": (size, size) float32, "lungs": bool mask}``."""
    s = FOV_MM / size
    y, x = a3.grid_mm((size, size), (s, s))
    ax, ay = rng.uniform(135.0, 155.0), rng.uniform(95.0, 115.0)
    theta = np.arctan2(y / ay, x / ax)
    wobble = 1.0 + 0.02 * np.sin(2 * theta + rng.uniform(0, 2 * np.pi)) + 0.015 * np.sin(3 * theta)
    rho = np.sqrt((x / ax) ** 2 + (y / ay) ** 2) / wobble  # 1 on the skin
    edge = s
    body = a3.soft_inside((rho - 1.0) * min(ax, ay), edge)
    fat_mm = rng.uniform(6.0, 18.0)
    inner = a3.soft_inside((rho - 1.0) * min(ax, ay) + fat_mm, edge)
    hu = -1000.0 + body * (900.0)  # fat -100 HU
    hu += inner * (45.0 - hu)  # muscle, mediastinum
    lungs = np.zeros((size, size), np.float32)
    heart_c = np.array([-0.12 * ay, 0.12 * ax])  # (y, x): front, towards one side
    heart_r = np.array([0.42 * ay, 0.30 * ax])
    heart = ((y - heart_c[0]) / heart_r[0]) ** 2 + ((x - heart_c[1]) / heart_r[1]) ** 2
    rough = a3.coarse_field(rng, (size, size), 12.0 / s)
    for side in (-1.0, 1.0):
        cx, cy = side * rng.uniform(0.42, 0.48) * ax, rng.uniform(0.0, 0.08) * ay
        rx, ry = rng.uniform(0.30, 0.35) * ax, rng.uniform(0.66, 0.74) * ay
        d = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) * (1.0 + 0.03 * rough)
        lungs = np.maximum(lungs, a3.soft_inside((d - 1.0) * min(rx, ry), edge))
    lungs *= np.clip((np.sqrt(heart) - 1.0) * heart_r.min() / edge + 0.5, 0.0, 1.0)  # the heart indents the lungs
    spine_c = np.array([0.62 * ay, 0.0])
    spine_r = rng.uniform(15.0, 19.0)
    spine_d = np.sqrt((y - spine_c[0]) ** 2 + (x - spine_c[1]) ** 2)
    lungs *= np.clip((spine_d - spine_r - 8.0) / edge + 0.5, 0.0, 1.0)
    parenchyma = -860.0 + 22.0 * a3.smooth_field(rng, (size, size), 1.5) * (
        0.5 + 0.5 * a3.coarse_field(rng, (size, size), 6.0) ** 2)
    hu += lungs * (parenchyma - hu)
    vessels = _vessels(rng, size, s, difficulty, lungs)
    hu += vessels * lungs * (rng.uniform(20.0, 60.0) - hu)
    _bones(rng, hu, y, x, s, ax, ay, fat_mm, spine_c, spine_r)
    return {"hu": hu.astype(np.float32), "lungs": lungs >= 0.5}


def _vessels(rng: np.random.Generator, size: int, s: float, d: float, lungs: np.ndarray) -> np.ndarray:
    """In-plane branches from each lung's hilum and cross-sectional dots (module doc)."""
    occ = np.zeros((size, size), np.float32)
    rows, cols = np.nonzero(lungs >= 0.5)
    if not len(rows):
        return occ
    centre = (size - 1) / 2
    pts = (np.stack([rows, cols], 1) - centre) * s
    for side in (-1, 1):
        mine = pts[np.sign(pts[:, 1]) == side]
        if not len(mine):
            continue
        hilum = np.array([np.median(mine[:, 0]), mine[np.argmin(np.abs(mine[:, 1])), 1]])
        stack = [(hilum, np.array([rng.normal(0, 0.7), side * 1.0]), rng.uniform(1.8, 2.8), 0)
                 for _ in range(int(rng.integers(2, 5)))]
        while stack:
            p0, direction, radius, depth = stack.pop()
            direction = direction / np.linalg.norm(direction)
            length = rng.uniform(8.0, 20.0) * (0.6 + radius / 2.5)
            p1 = p0 + direction * length
            r1 = radius * rng.uniform(0.8, 0.92)
            a3.add_tube(occ, (s, s), p0.astype(np.float32), p1.astype(np.float32), radius, r1)
            if r1 < 0.6 or depth > 3:  # a slice cuts a tree: a few generations run in its plane
                continue
            for ratio in (rng.uniform(0.75, 0.85), rng.uniform(0.55, 0.8)):
                angle = np.radians(rng.uniform(20, 45)) * rng.choice([-1, 1])
                c, sn = np.cos(angle), np.sin(angle)
                stack.append((p1, np.array([c * direction[0] - sn * direction[1], sn * direction[0] + c * direction[1]]),
                              r1 * ratio, depth + 1))
    n_dots = int(rng.integers(25, 40) + 40 * d)
    for k in rng.choice(len(pts), size=min(n_dots, len(pts)), replace=False):
        radius = float(np.clip(rng.gamma(2.0, 0.45 + 0.35 * d), 0.5, 3.0))
        a3.add_tube(occ, (s, s), pts[k].astype(np.float32), pts[k].astype(np.float32), radius, radius)
    return occ


def _bones(rng, hu, y, x, s, ax, ay, fat_mm, spine_c, spine_r) -> None:
    """Ribs, sternum and a vertebra, composited into ``hu`` in place."""
    edge = s

    def disc(cy, cx, ry, rx):
        return a3.soft_inside((np.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2) - 1.0) * min(ry, rx), edge)

    def bone(cy, cx, ry, rx, rim=1.5):
        outer = disc(cy, cx, ry, rx)
        inner = disc(cy, cx, max(ry - rim, 0.5), max(rx - rim, 0.5))
        hu[...] += outer * (700.0 - hu)
        hu[...] += inner * (rng.uniform(180.0, 300.0) - hu)

    wall = 1.0 - (fat_mm + 5.0) / min(ax, ay)
    for angle in np.linspace(0.25, 2 * np.pi - 0.25, int(rng.integers(8, 13))) + rng.uniform(-0.1, 0.1):
        if abs(np.sin(angle) - 1.0) < 0.15:  # the vertebra's place
            continue
        cy, cx = wall * ay * np.sin(angle), wall * ax * np.cos(angle)
        bone(cy, cx, rng.uniform(4.0, 6.0), rng.uniform(6.0, 9.0))
    bone(-wall * ay, 0.0, 5.0, rng.uniform(10.0, 14.0))  # sternum
    bone(spine_c[0], spine_c[1], spine_r, spine_r * 1.1, rim=2.0)
    canal = disc(spine_c[0] + spine_r + 7.0, 0.0, 7.0, 7.0)
    hu[...] += canal * (30.0 - hu)


def composite(background: Phantom, crops: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
              crop_spacing_mm: float = 0.7) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Paste real nodules into a phantom slice (``background``: a :func:`make` slice without nodules).

    Each crop is an 8-bit LIDC-IDRI crop ``(50, 50)`` (min-max scaled per crop) with its
    readers' union mask. What is pasted is the nodule and a rim of its own lung around it
    (the union mask dilated by 3 crop pixels, about 2 mm, feathered over 1.5), never the
    square crop, so no crop edge shows; the rest of the slice is the phantom's. Intensities: the crops
    carry no Hounsfield units, so 0..255 is mapped linearly onto -1000..+100 HU (what a
    min-max scaled lung crop spans: air to soft tissue); the crop is resampled from
    ``crop_spacing_mm`` (LIDC's typical in-plane spacing; the crops carry none) to the
    slice's. Centres are drawn inside the phantom's lungs, apart from each other.

    Returns:
        ``(hu (H, W) int16, mask (H, W) uint8, nodules)``: one dict per pasted nodule with
        its ``box`` (``x0, y0, x1, y1``) and ``index`` into ``crops``.
    """
    from skimage.transform import rescale

    if background.mask is not None and background.mask.any():
        raise MedlearnInputError("Composite slices start from a phantom slice without nodules.")
    hu = background.image.pixels.astype(np.float32)
    s = float(background.image.spacing[0])
    size = hu.shape[0]
    lungs = hu < -600  # the phantom's aerated lung (air outside the body is cut below)
    body = ndimage.binary_fill_holes(hu > -500)
    lungs &= body
    mask = np.zeros(hu.shape, np.uint8)
    placed: list[tuple[np.ndarray, float]] = []
    nodules = []
    for index, (pixels, union) in enumerate(crops):
        factor = crop_spacing_mm / s
        crop_hu = rescale(np.asarray(pixels, np.float32) / 255.0 * 1100.0 - 1000.0, factor, order=1,
                          preserve_range=True, anti_aliasing=True)
        truth = rescale(np.asarray(union, np.float32), factor, order=1, preserve_range=True) >= 0.5
        rim = ndimage.gaussian_filter(ndimage.binary_dilation(np.asarray(union) > 0, iterations=3).astype(np.float32), 1.5)
        weight = np.clip(rescale(np.clip(rim * 1.6, 0.0, 1.0), factor, order=1, preserve_range=True), 0.0, 1.0)
        weight[weight < 0.02] = 0.0  # the gaussian's far tail: leave the phantom untouched there
        if not truth.any():
            continue
        rows, cols = np.nonzero(truth)
        radius = 0.5 * s * max(np.ptp(rows) + 1, np.ptp(cols) + 1)
        centre = _place(rng, lungs, s, radius, placed)
        if centre is None:
            break
        placed.append((centre, radius))
        h, w = crop_hu.shape
        cy, cx = (centre / s + (size - 1) / 2).round().astype(int)
        mid_y, mid_x = int(round(rows.mean())), int(round(cols.mean()))
        top, left = cy - mid_y, cx - mid_x
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + h, size), min(left + w, size)
        if y1 <= y0 or x1 <= x0:
            continue
        win = (slice(y0, y1), slice(x0, x1))
        inner = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        hu[win] += weight[inner] * (crop_hu[inner] - hu[win])
        region = truth[inner] & (mask[win] == 0)
        mask[win][region] = 1
        r_, c_ = np.nonzero(region)
        if len(r_):
            nodules.append({"index": index, "box": [x0 + int(c_.min()), y0 + int(r_.min()),
                                                    x0 + int(c_.max()) + 1, y0 + int(r_.max()) + 1]})
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16), mask, nodules


COPIES = 3  # composite slices per LIDC nodule, each in other phantom lungs at another place
LIDC_SEED = 2011  # the phantom backgrounds' seed (the LIDC-IDRI paper's year)
LIDC_SIZE = 288  # 1.18 mm per pixel: LIDC's 4-6 mm nodules are 3-5 px across (2-3 px at 192 px)


def lidc_slices(rows: list[dict], crop: Callable[[dict], tuple[np.ndarray, np.ndarray]],
                size: int = LIDC_SIZE, limit: int | None = None) -> list:
    """Detection slices from LIDC-IDRI nodule crops (``nodules.csv`` rows; ``crop(row)`` reads a
    row's 8-bit crop and readers' union mask): for every nodule :data:`COPIES` slices, each a
    phantom chest slice without nodules with that nodule pasted into its lungs
    (:func:`composite`), and one slice without any nodule per patient (a negative; phantom
    anatomy only). Slices are :data:`LIDC_SIZE` pixels: half of LIDC's nodules are under
    6 mm, which the phantoms' 192 px (1.77 mm per pixel) would shrink to 2-3 pixels. ``meta["patient"]`` keeps the patient, so splits stay patient-level.
    Backgrounds are drawn from the crop's name (same rows, same slices). Every nodule is used,
    whatever its malignancy rating: detection asks where, not what."""
    from medlearn.data.phantoms import make_one
    from medlearn.data.sources.base import Sample

    def background(name: str) -> Phantom:
        return make_one("lung_detection", seed=LIDC_SEED, index=zlib.crc32(name.encode()) % 1_000_000,
                        size=size, n_nodules=0)

    by_patient: dict[str, list[dict]] = {}
    for row in rows:
        by_patient.setdefault(row["patient_id"], []).append(row)
    samples = []
    for patient, mine in by_patient.items():
        for row in mine:
            pixels, union = crop(row)
            stem = row["image"].rsplit(".", 1)[0]
            for copy in range(COPIES):
                name = f"{stem}-c{copy}"
                base = background(name)
                hu, mask, pasted = composite(base, [(pixels, union)], np.random.default_rng(zlib.crc32(name.encode())))
                if not pasted:
                    continue
                image = replace(base.image, pixels=hu, source=f"lidc_crops/{row['image']} in phantom lungs")
                meta = {"patient": patient, "nodules": [row["image"]], "copy": copy,
                        "diameter_mm": float(row["eq_diameter_mm"]),
                        "note": "A real LIDC-IDRI nodule (8-bit crop mapped to -1000..+100 HU, resampled from an "
                                "assumed 0.7 mm spacing) pasted into a phantom chest slice."}
                samples.append(Sample(name, image, None, mask, meta))
        base = background(f"{patient}-negative")
        samples.append(Sample(f"{patient}-negative", base.image, None, base.mask,
                              {"patient": patient, "nodules": [], "note": "Phantom anatomy only: no nodule."}))
        if limit is not None and len(samples) >= limit:
            break
    return samples if limit is None else samples[:limit]


register_generator("lung_detection", make, PARAMS, 192, max_size=512)

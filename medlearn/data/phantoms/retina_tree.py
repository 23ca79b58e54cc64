"""Retinal vessel tree for the fundus phantom: arcades, branches, beading, IRMA, new vessels.

Four artery/vein pairs leave the optic disc: the temporal ones arch around the
macula (the arcades), the nasal ones run towards the nasal edge; each trunk branches
at acute angles every 1-3 mm with daughters ≈0.7 times as wide (Murray's law gives
0.79 for two equal daughters). The foveal avascular zone (≈0.5 mm) stays free.
All paths come back as one point cloud so a single Voronoi pass renders them.
"""

from __future__ import annotations

import numpy as np

from medlearn.data.phantoms import common as C

ARTERY, VEIN, IRMA, NEW_VESSEL = 0, 1, 2, 3
STEP = 0.5  # pixels between centre-line points


def quadrant_of(pts: np.ndarray, geo: dict) -> np.ndarray:
    """Quadrant per ``(y, x)`` point: 0 sup-temporal, 1 sup-nasal, 2 inf-temporal, 3 inf-nasal."""
    below = pts[:, 0] >= geo["c"]
    nasal = (pts[:, 1] - geo["c"]) * geo["side"] > 0
    return (2 * below + nasal).astype(np.int64)


def _grow(rng, pts, r0_px, depth, max_depth, px, out) -> None:
    """Store one path with tapering radius, then sprout daughters along it (recursive)."""
    s = np.arange(len(pts), dtype=np.float32) * STEP
    radii = r0_px * (1.0 - 0.45 * s / max(s[-1], 1.0))
    out.append((pts, radii.astype(np.float32), depth))
    if depth >= max_depth:
        return
    pos = rng.uniform(0.6, 1.2) * px
    while True:
        pos += rng.uniform(1.0, 2.4) * px * (1 + 0.4 * depth)
        i = int(pos / STEP)
        if i >= len(pts) - 4:
            return
        dy, dx = pts[i + 2] - pts[i]
        turn = rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 1.1)
        child = C.walk(rng, pts[i], float(np.arctan2(dy, dx) + turn), rng.uniform(1.5, 4.0) * px * 0.7**depth,
                       STEP, curvature=float(rng.normal(0, 0.3)) / px, wiggle=0.05 / np.sqrt(px))
        _grow(rng, child, radii[i] * 0.72, depth + 1, max_depth, px, out)


def _trunks(rng, geo) -> list[tuple[int, np.ndarray, float]]:
    """(kind, centre line, radius px) of the eight main vessels leaving the disc."""
    px, side, disc = geo["px"], geo["side"], geo["disc"]
    trunks = []
    for kind, r_mm, off in ((ARTERY, 0.055, 0.12), (VEIN, 0.075, -0.06)):
        for sv in (-1.0, 1.0):
            start = disc + rng.normal(0, 0.08, 2).astype(np.float32) * px
            head = np.arctan2(sv, side * rng.uniform(-0.1, 0.2)) + off * sv * side
            bend = sv * side * 1.45 / (2.5 * px) * rng.uniform(0.85, 1.15)
            trunks.append((kind, C.walk(rng, start, head, 13 * px, STEP, bend, 2.5 * px, 0.03 / np.sqrt(px)), r_mm * px))
            head = np.arctan2(sv, side * rng.uniform(0.4, 0.9)) - off * sv * side
            trunks.append((kind, C.walk(rng, start, head, 6 * px, STEP, -sv * side * 0.08 / px, np.inf,
                                        0.04 / np.sqrt(px)),
                           r_mm * px * 0.85))
        macular = C.walk(rng, disc, np.arctan2(rng.normal(0, 0.15), -side), 3 * px, STEP, 0.0, np.inf, 0.05 / np.sqrt(px))
        trunks.append((kind, macular, r_mm * px * 0.5))
    return trunks


def _tangle(rng, centre, spread, n, px, length_mm, radius_mm):
    """Fine, tortuous vessel loops around a centre (IRMA or new vessels)."""
    paths = []
    for _ in range(n):
        start = centre + rng.normal(0, spread, 2).astype(np.float32)
        curv = rng.choice((-1.0, 1.0)) * rng.uniform(1.5, 4.0) / px
        pts = C.walk(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(*length_mm) * px, STEP, curv, np.inf,
                     0.3 / np.sqrt(px))
        paths.append((pts, np.full(len(pts), rng.uniform(*radius_mm) * px, np.float32)))
    return paths


def vessel_tree(rng: np.random.Generator, geo: dict, beaded: list[int], irma: bool, nv: bool,
                difficulty: float) -> dict[str, np.ndarray]:
    """All vessel centre lines of one fundus.

    Args:
        geo: geometry from the retina generator (``px`` pixels/mm, ``disc``, ``fovea``, ...).
        beaded: quadrants whose large veins are beaded (mask code 5).
        irma, nv: add IRMA in one quadrant (code 6) / new vessels (code 7).

    Returns:
        ``points (M, 2)``, ``radii (M,)`` in pixels, ``kind (M,)`` (artery, vein, IRMA,
        new vessel) and ``code (M,)`` uint8 lesion codes.
    """
    px = geo["px"]
    pts, radii, kind, code = [], [], [], []
    for k, line, r0 in _trunks(rng, geo):
        grown = []
        _grow(rng, line, r0, 0, 2, px, grown)
        for p, r, depth in grown:
            c = np.zeros(len(p), np.uint8)
            if k == VEIN and depth == 0 and beaded:
                s = np.arange(len(p)) * STEP / px
                hit = np.isin(quadrant_of(p, geo), beaded) & (s > 1.0)
                r = np.where(hit, r * (1 + 0.9 * np.sin(2 * np.pi * s / 0.45) ** 4), r)
                c[hit] = 5
            pts.append(p), radii.append(r), kind.append(np.full(len(p), k)), code.append(c)
    extras = []
    if irma:
        q = int(rng.integers(0, 4))
        ang = (np.pi / 4) * (1 if q >= 2 else -1)
        sx = -geo["side"] if q in (0, 2) else geo["side"]
        centre = np.array([geo["c"] + np.sin(ang) * 0.5 * geo["R"], geo["c"] + sx * np.cos(ang) * 0.5 * geo["R"]])
        extras += [(p, r, IRMA, 6) for p, r in _tangle(rng, centre, 0.3 * px, 6, px, (0.5, 1.2), (0.03, 0.045))]
    if nv:
        at_disc = rng.random() < 0.5
        centre = geo["disc"] if at_disc else geo["fovea"] + rng.normal(0, 2.5, 2) * px
        centre = centre.astype(np.float32)
        extras += [(p, r, NEW_VESSEL, 7)
                   for p, r in _tangle(rng, centre, 0.5 * px, 16, px, (0.4, 1.3), (0.03, 0.05 - 0.015 * difficulty))]
    for p, r, k, c in extras:
        pts.append(p), radii.append(r), kind.append(np.full(len(p), k)), code.append(np.full(len(p), c, np.uint8))
    pts, radii = np.concatenate(pts), np.concatenate(radii)
    kind, code = np.concatenate(kind), np.concatenate(code)
    dist_fovea = np.hypot(*(pts - geo["fovea"]).T)
    inside = np.hypot(*(pts - geo["c"]).T) < geo["R"] + 2
    keep = inside & ((dist_fovea > 0.45 * px) | (kind >= IRMA))
    return {"points": pts[keep], "radii": radii[keep], "kind": kind[keep], "code": code[keep]}

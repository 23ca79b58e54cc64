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


def _trunks(rng, geo) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ten main vessels leaving the disc: kind ``(10,)``, padded centre lines
    ``(10, M, 2)``, point counts ``(10,)`` and initial radii ``(10,)`` in pixels."""
    px, side, disc = geo["px"], geo["side"], geo["disc"]
    rows = []  # kind, start, heading, length, curvature, decay, radius
    for kind, r_mm, off in ((ARTERY, 0.055, 0.12), (VEIN, 0.075, -0.06)):
        for sv in (-1.0, 1.0):
            start = disc + rng.normal(0, 0.08, 2).astype(np.float32) * px
            head = np.arctan2(sv, side * rng.uniform(-0.1, 0.2)) + off * sv * side
            bend = sv * side * 1.45 / (2.5 * px) * rng.uniform(0.85, 1.15)
            rows.append((kind, start, head, 13 * px, bend, 2.5 * px, r_mm * px))  # temporal arcade
            head = np.arctan2(sv, side * rng.uniform(0.4, 0.9)) - off * sv * side
            rows.append((kind, start, head, 6 * px, -sv * side * 0.08 / px, np.inf, r_mm * px * 0.85))  # nasal
        rows.append((kind, disc, np.arctan2(rng.normal(0, 0.15), -side), 3 * px, 0.0, np.inf, r_mm * px * 0.5))
    kind, start, head, length, curv, decay, radius = (np.array(c) for c in zip(*rows))
    wiggle = np.array([0.03, 0.04, 0.03, 0.04, 0.05] * 2) / np.sqrt(px)
    pts, counts = C.walks(rng, start, head, length, STEP, curv, decay, wiggle)
    return kind, pts, counts, radius.astype(np.float32)


def _branch_points(rng, counts: np.ndarray, depth: int, px: float) -> tuple[np.ndarray, np.ndarray]:
    """Where daughters sprout: ``(path, point index)`` pairs, one every 1-2.4 mm (·1.4^depth)."""
    k = int(float(counts.max()) * STEP / (px * (1 + 0.4 * depth))) + 2
    pos = rng.uniform(0.6, 1.2, (len(counts), 1)) * px + np.cumsum(
        rng.uniform(1.0, 2.4, (len(counts), k)) * px * (1 + 0.4 * depth), axis=1)
    idx = (pos / STEP).astype(int)
    path, j = np.nonzero(idx < (counts - 4)[:, None])
    return path, idx[path, j]


def _grow(rng, pts, counts, r0, max_depth: int, px: float) -> list[dict]:
    """Tapering paths plus acute-angled daughters ≈0.72 times as wide, grown level by level.

    Args:
        pts, counts: padded centre lines ``(N, M, 2)`` and their lengths ``(N,)`` (trunks).
        r0: ``(N,)`` initial radii in pixels.

    Returns:
        One dict per level with flat ``points (K, 2)``, ``radii``, ``root`` (the trunk
        each point grew from) and ``s`` (arc length in pixels along its path).
    """
    levels, roots = [], np.arange(len(pts))
    for depth in range(max_depth + 1):
        s = np.arange(pts.shape[1], dtype=np.float32) * STEP
        radii = r0[:, None] * (1.0 - 0.45 * s / np.maximum((counts[:, None] - 1) * STEP, 1.0))
        valid = s / STEP < counts[:, None]
        levels.append({"points": pts[valid], "radii": radii[valid].astype(np.float32), "depth": depth,
                       "root": np.broadcast_to(roots[:, None], valid.shape)[valid],
                       "s": np.broadcast_to(s, valid.shape)[valid]})
        if depth == max_depth:
            break
        path, i = _branch_points(rng, counts, depth, px)
        m = len(path)
        start, ahead = pts[path, i], pts[path, i + 2]
        turn = rng.choice((-1.0, 1.0), m) * rng.uniform(0.5, 1.1, m)
        heading = np.arctan2(ahead[:, 0] - start[:, 0], ahead[:, 1] - start[:, 1]) + turn
        r0, roots = radii[path, i] * 0.72, roots[path]
        pts, counts = C.walks(rng, start, heading, rng.uniform(1.5, 4.0, m) * px * 0.7**depth, STEP,
                              rng.normal(0, 0.3, m) / px, np.inf, 0.05 / np.sqrt(px))
        if m == 0:
            break
    return levels


def _tangle(rng, centre, spread, n, px, length_mm, radius_mm) -> tuple[np.ndarray, np.ndarray]:
    """Fine, tortuous vessel loops around a centre (IRMA or new vessels): flat points, radii."""
    starts = np.asarray(centre, np.float32) + rng.normal(0, spread, (n, 2)).astype(np.float32)
    curv = rng.choice((-1.0, 1.0), n) * rng.uniform(1.5, 4.0, n) / px
    pts, counts = C.walks(rng, starts, rng.uniform(0, 2 * np.pi, n), rng.uniform(*length_mm, n) * px, STEP,
                          curv, np.inf, 0.3 / np.sqrt(px))
    radius = np.broadcast_to((rng.uniform(*radius_mm, n) * px).astype(np.float32)[:, None], pts.shape[:2])
    valid = np.arange(pts.shape[1]) < counts[:, None]
    return pts[valid], radius[valid]


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
    trunk_kind, *trunks = _trunks(rng, geo)
    pts, radii, kind, code = [], [], [], []
    for lv in _grow(rng, *trunks, 2, px):
        k, r = trunk_kind[lv["root"]], lv["radii"]
        c = np.zeros(len(r), np.uint8)
        if lv["depth"] == 0 and beaded:
            s = lv["s"] / px
            hit = (k == VEIN) & np.isin(quadrant_of(lv["points"], geo), beaded) & (s > 1.0)
            r = np.where(hit, r * (1 + 0.9 * np.sin(2 * np.pi * s / 0.45) ** 4), r).astype(np.float32)
            c[hit] = 5
        pts.append(lv["points"]), radii.append(r), kind.append(k), code.append(c)
    extras = []
    if irma:
        q = int(rng.integers(0, 4))
        ang = (np.pi / 4) * (1 if q >= 2 else -1)
        sx = -geo["side"] if q in (0, 2) else geo["side"]
        centre = np.array([geo["c"] + np.sin(ang) * 0.5 * geo["R"], geo["c"] + sx * np.cos(ang) * 0.5 * geo["R"]])
        extras.append((*_tangle(rng, centre, 0.3 * px, 6, px, (0.5, 1.2), (0.03, 0.045)), IRMA, 6))
    if nv:
        at_disc = rng.random() < 0.5
        centre = geo["disc"] if at_disc else geo["fovea"] + rng.normal(0, 2.5, 2) * px
        extras.append((*_tangle(rng, centre, 0.5 * px, 16, px, (0.4, 1.3), (0.03, 0.05 - 0.015 * difficulty)),
                       NEW_VESSEL, 7))
    for p, r, k, c in extras:
        pts.append(p), radii.append(r), kind.append(np.full(len(p), k)), code.append(np.full(len(p), c, np.uint8))
    pts, radii = np.concatenate(pts), np.concatenate(radii)
    kind, code = np.concatenate(kind), np.concatenate(code)
    dist_fovea = np.hypot(*(pts - geo["fovea"]).T)
    inside = np.hypot(*(pts - geo["c"]).T) < geo["R"] + 2
    keep = inside & ((dist_fovea > 0.45 * px) | (kind >= IRMA))
    return {"points": pts[keep], "radii": radii[keep], "kind": kind[keep], "code": code[keep]}

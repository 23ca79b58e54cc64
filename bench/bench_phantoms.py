"""Phantom generation speed: 1,000 2D cases at 128 px < 10 s; 100 volumes at 64^3 < 20 s;
one Phantom lab redraw < 200 ms. Baseline: drawing the same number of plain Gaussian
noise images of that size (the floor any generator pays to fill its arrays)."""

from __future__ import annotations

import time

import numpy as np

from bench.common import Row, time_calls
from medlearn.cases import list_cases
from medlearn.data.phantoms import generate


def _elapsed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(scale: float = 1.0) -> list[Row]:
    rows = []
    n2d, n3d = max(1, int(1000 * scale)), max(1, int(100 * scale))
    for case in list_cases():
        threed = case.task.spatial_dims == 3
        n, size, limit = (n3d, 64, 20.0) if threed else (n2d, 128, 10.0)
        shape = (size,) * 3 if threed else (size, size)
        secs = _elapsed(lambda: generate(case.key, n=n, seed=1, size=size))
        rng = np.random.default_rng(0)
        floor = _elapsed(lambda: [rng.standard_normal(shape, dtype=np.float32) for _ in range(n)])
        scaled_limit = limit * n / (n3d if threed else n2d) * scale
        rows.append(Row("phantoms", f"{case.key}: {n} x {'x'.join(map(str, shape))}", secs, "s total",
                        baseline=floor, ratio=secs / max(floor, 1e-9),
                        target=f"< {scaled_limit:.1f} s", ok=secs < scaled_limit))
        redraw = time_calls(lambda: generate(case.key, n=1, seed=7), repeat=10, warmup=1)
        rows.append(Row("phantoms", f"{case.key}: lab redraw (default size)", redraw.median, "ms median",
                        target="< 200 ms", ok=redraw.median < 200))
    return rows

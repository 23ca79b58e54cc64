"""Phantom generation speed against issue #3's targets on the 2-core machine: 1,000 2D
cases at 128 px < 10 s; 100 volumes at 64^3 < 20 s; one Phantom lab redraw < 200 ms.

Every batch is timed twice over: CPU time of this process (``time.process_time``) and
wall time. The generators run on one thread, so on an idle machine the two agree; on a
shared machine the wall time grows with the load (recorded beside it), so the targets
are judged on CPU time. Baseline, timed the same way in the same run: drawing as many
plain Gaussian noise arrays of that shape (the floor any generator pays to fill its
arrays).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from bench.common import Row
from medlearn.cases import list_cases
from medlearn.data.phantoms import generate


def _clock(fn) -> tuple[float, float]:
    """Wall and CPU seconds of one call of ``fn``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _batch_rows(case: str, n: int, shape: tuple[int, ...], limit: float) -> list[Row]:
    """Two rows for ``n`` phantoms of ``case``: CPU time (judged) and wall time (context)."""
    label = f"{case}: {n} x {'x'.join(map(str, shape))}"
    load_before = _load()
    wall, cpu = _clock(lambda: generate(case, n=n, seed=1, size=shape[0]))
    rng = np.random.default_rng(0)
    floor_wall, floor_cpu = _clock(lambda: [rng.standard_normal(shape, dtype=np.float32) for _ in range(n)])
    load = {"load_avg_1min_before": load_before, "load_avg_1min_after": _load()}
    return [
        Row("phantoms", f"{label} CPU", cpu, "s CPU", baseline=floor_cpu, ratio=cpu / max(floor_cpu, 1e-9),
            target=f"< {limit:.1f} s", ok=cpu < limit,
            extra={"cpu_ms_per_case": 1000 * cpu / n, "wall_s": wall, **load}),
        Row("phantoms", f"{label} wall", wall, "s wall", baseline=floor_wall,
            ratio=wall / max(floor_wall, 1e-9), target=f"load {load['load_avg_1min_after']:.1f}",
            extra={"wall_ms_per_case": 1000 * wall / n, "cpu_s": cpu, **load}),
    ]


def _redraw_row(case: str, repeat: int = 10) -> Row:
    """One Phantom lab redraw (one case at the default size), median of ``repeat``."""
    generate(case, n=1, seed=7)  # warm-up: imports, caches
    walls, cpus = zip(*(_clock(lambda: generate(case, n=1, seed=7)) for _ in range(repeat)))
    cpu_ms, wall_ms = 1000 * statistics.median(cpus), 1000 * statistics.median(walls)
    return Row("phantoms", f"{case}: lab redraw (default size)", cpu_ms, "ms CPU median", target="< 200 ms",
               ok=cpu_ms < 200, extra={"wall_ms_median": wall_ms, "load_avg_1min": _load()})


def run(scale: float = 1.0) -> list[Row]:
    rows = []
    n2d, n3d = max(1, int(1000 * scale)), max(1, int(100 * scale))
    for case in list_cases(studies=True):
        threed = case.task.spatial_dims == 3
        n, size, limit = (n3d, 64, 20.0 * scale) if threed else (n2d, 128, 10.0 * scale)
        rows += _batch_rows(case.key, n, (size,) * (3 if threed else 2), limit)
        rows.append(_redraw_row(case.key))
    return rows

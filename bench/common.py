"""Timing helpers shared by the benchmark scripts.

Every figure is measured beside a baseline in the same run and reported as a ratio:
these machines are noisy, absolute numbers drift, ratios much less.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Timing:
    """Wall times of repeated calls, in milliseconds."""

    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        s = sorted(self.samples_ms)
        return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def time_calls(fn: Callable[[], object], repeat: int = 20, warmup: int = 3) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return Timing(out)


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 20, warmup: int = 3) -> dict[str, Timing]:
    """Time several callables in alternation so drift hits them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[k].append((time.perf_counter() - t0) * 1000.0)
    return {k: Timing(v) for k, v in out.items()}


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    extra: dict = field(default_factory=dict)


def machine_info() -> dict:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def write_results(name: str, rows: list[Row]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine_info(), "rows": [asdict(r) for r in rows]}, indent=2))
    return path


def format_table(rows: list[Row]) -> str:
    head = f"{'bench':<12} {'measure':<44} {'value':>10} {'baseline':>10} {'ratio':>7}  {'target':<18} ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        base = f"{r.baseline:.2f}" if r.baseline is not None else "-"
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        ok = {True: "yes", False: "MISS", None: ""}[r.ok]
        lines.append(
            f"{r.bench:<12} {r.name:<44} {r.value:>10.2f} {base:>10} {ratio:>7}  {r.target:<18} {ok}  {r.unit}"
        )
    return "\n".join(lines)

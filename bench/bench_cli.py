"""Command-line start-up: ``python -m medlearn --help``, ``predict --help`` and ``cases``.

Target: each at most 1.5x ``python -c "import torch"`` measured in the same run (wall
time of a fresh interpreter, the commands and the baseline interleaved, order rotated
every repeat, medians). The commands must not pay for torch, MONAI, scikit-image,
pydicom, nibabel, scikit-learn or plotly before they need them; each row also lists
which of those the command imported (``extra["heavy_imports"]``, expected empty).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "monai", "skimage", "pydicom", "nibabel", "sklearn", "plotly")
BASELINE = ("-c", "import torch")
COMMANDS = {
    "python -m medlearn --help": ("--help",),
    "python -m medlearn predict --help": ("predict", "--help"),
    "python -m medlearn cases": ("cases",),
}
TARGET_RATIO = 1.5

_PROBE = """
import json, sys
from medlearn.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
"""


def _env(home: str) -> dict[str, str]:
    return {**os.environ, "MEDLEARN_HOME": home, "PYTHONDONTWRITEBYTECODE": "1"}


def _wall_ms(args: tuple[str, ...], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000.0


def heavy_imports(argv: tuple[str, ...], home: str | None = None) -> list[str]:
    """The heavy top-level packages a fresh interpreter has imported after ``main(argv)``."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(HEAVY), *argv], cwd=ROOT,
                              env=_env(home or tmp), capture_output=True, text=True, check=True)
    line = [x for x in done.stderr.splitlines() if x.startswith("HEAVY=")][-1]
    return json.loads(line[len("HEAVY="):])


def run(repeat: int = 10, warmup: int = 1) -> list[Row]:
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        jobs = {"baseline": BASELINE, **{name: ("-m", "medlearn", *argv) for name, argv in COMMANDS.items()}}
        for _ in range(warmup):  # page cache and bytecode warm for every one alike
            for args in jobs.values():
                _wall_ms(args, env)
        times: dict[str, list[float]] = {name: [] for name in jobs}
        names = list(jobs)
        for i in range(repeat):
            for name in names[i % len(names):] + names[:i % len(names)]:
                times[name].append(_wall_ms(jobs[name], env))
        base = statistics.median(times["baseline"])
        rows = []
        for name, argv in COMMANDS.items():
            value = statistics.median(times[name])
            ratio = value / base
            rows.append(Row("cli", f"start-up: {name}", value, "ms wall median", baseline=base, ratio=ratio,
                            target=f"ratio <= {TARGET_RATIO}", ok=ratio <= TARGET_RATIO,
                            extra={"repeat": repeat, "samples_ms": [round(v, 1) for v in times[name]],
                                   "baseline_samples_ms": [round(v, 1) for v in times["baseline"]],
                                   "baseline": 'python -c "import torch"',
                                   "heavy_imports": heavy_imports(argv, home)}))
    return rows

"""Default real-data recipes: each case's first network trained on its real source of the
mirror by ``train_recipe``'s defaults (``CaseStudy.recipe_for``), beside the same network's
phantom recipe trained in the same run (the baseline).

Target (issue 11): every default real-data recipe trains in at most 5 minutes on a 2-core
CPU. Needs ``MEDLEARN_MIRROR``; without it no row is measured (each says why). Runs go to a
scratch data home. ``all_archs=True`` times every default architecture, not only the first.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.common import Row

TARGET_S = 300.0


def _timed(case: str, arch: str, source: str, home: Path, **choices) -> tuple[float, str]:
    from medlearn.train.recipes import train_recipe
    from medlearn.train.store import RunStore

    t0 = time.perf_counter()
    record = train_recipe(case, arch, source, store=RunStore(home / "runs.sqlite"),
                          checkpoint_root=home / "checkpoints", **choices)
    return time.perf_counter() - t0, record.status


def run(all_archs: bool = False, epochs: int | None = None, cases: tuple[str, ...] | None = None) -> list[Row]:
    """``epochs`` (smoke runs only) replaces every recipe's epochs; the figures then say nothing."""
    from medlearn.cases import list_cases

    if not os.environ.get("MEDLEARN_MIRROR"):
        return [Row("real_recipes", "skipped", float("nan"), "s", target="needs MEDLEARN_MIRROR", ok=None)]
    rows: list[Row] = []
    choices = {"epochs": epochs} if epochs else {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for case in list_cases(studies=True):
            if cases and case.key not in cases:
                continue
            for source, _ in case.real_recipes:
                networks = [a for a in case.recipe_for(source).architectures if a != "classic"]
                for arch in networks if all_archs else networks[:1]:
                    real_s, status = _timed(case.key, arch, source, home, **choices)
                    phantom_s, _ = _timed(case.key, arch, "phantoms", home, **choices)
                    real_s, phantom_s = round(real_s, 1), round(phantom_s, 1)  # the ratio of the figures shown
                    r = case.recipe_for(source)
                    rows.append(Row("real_recipes", f"{case.key} {arch} on {source}", real_s, "s",
                                    baseline=phantom_s, ratio=round(real_s / phantom_s, 2),
                                    target=f"<= {TARGET_S:.0f} s", ok=status == "done" and real_s <= TARGET_S,
                                    extra={"status": status, "epochs": epochs or r.epochs,
                                           "input_size": r.input_size, "baseline": "phantom recipe, same run"}))
    return rows

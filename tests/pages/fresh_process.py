"""Run an AppTest script in a fresh interpreter: what a page imports shows only there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_app_script(tmp_path: Path, source: str, *args: str) -> dict:
    """Write ``source`` to a file, run it as ``python file ROOT/app.py *args`` with the
    repository importable, and return the JSON object its last printed line holds."""
    script = tmp_path / "fresh_process_script.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), str(ROOT / "app.py"), *args], capture_output=True,
                          text=True, timeout=180, cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])

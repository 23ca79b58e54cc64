"""Make ``train_helpers`` importable by name, here and in spawned worker processes
(which inherit ``sys.path``); pytest's importlib mode does not add test folders."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

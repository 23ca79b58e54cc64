"""Command line: ``python -m medlearn COMMAND``.

Each command lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. A typed MedLearn error becomes
one ``error:`` line on stderr and exit status 2, never a traceback.

Start-up stays fast (``--help`` and ``cases`` need no torch): command modules import
their heavy libraries (torch, MONAI, scikit-image, pydicom, nibabel, scikit-learn) inside
``run``, never at module level (``bench/bench_cli.py`` measures it).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from medlearn.errors import MedlearnError
from medlearn.text import visible

COMMANDS = ("cases", "datasets", "fetch", "info", "phantom", "train", "prepare", "runs", "predict",
            "evaluate", "bench")


def _load(name: str):
    try:
        return importlib.import_module(f"medlearn.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"medlearn.cli.{name}":
            return None  # command not built into this installation
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m medlearn", description="MedLearn command line.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is not None:
            module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except MedlearnError as exc:
        print(f"error: {visible(exc, limit=4000)}", file=sys.stderr)  # one line: a name's line break is escaped
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130

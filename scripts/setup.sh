#!/usr/bin/env bash
# Create .venv (Python 3.11), install requirements.txt into it, then MedLearn itself as an
# editable package (the `medlearn` command; code edits need no reinstall). Idempotent:
# stamps holding the hashes of requirements.txt and pyproject.toml skip pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "[medlearn] creating virtual environment .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.medlearn-requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[medlearn] installing requirements (torch is large: the first time takes a few minutes)"
  # torch and its CUDA libraries take about 6 GB: say so plainly before pip fails with "No space left".
  free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
  if [ "${free_kb:-0}" -lt $((7 * 1024 * 1024)) ]; then
    echo "[medlearn] warning: only $((free_kb / 1024)) MB free here; the requirements need about 7 GB" >&2
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
pkg_stamp=.venv/.medlearn-package.sha256
pkg_want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$pkg_stamp" 2>/dev/null)" != "$pkg_want" ] || [ ! -x .venv/bin/medlearn ]; then
  echo "[medlearn] installing MedLearn as an editable package (the medlearn command)"
  # No build isolation when setuptools is in the environment (Python 3.11's venv has it): no download.
  isolation=--no-build-isolation
  .venv/bin/python -c "import setuptools" 2>/dev/null || isolation=
  .venv/bin/python -m pip install --quiet --no-deps $isolation -e .
  echo "$pkg_want" > "$pkg_stamp"
fi

#!/usr/bin/env bash
# Create .venv (Python 3.11) and install requirements.txt into it. Idempotent: a stamp
# holding the requirements' hash skips pip when nothing changed.
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
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi

#!/usr/bin/env bash
# Install (first time) and start the MedLearn app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m streamlit run serve.py "$@"  # app.py behind the server guards (ui/shared/server_guards.py)

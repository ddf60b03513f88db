#!/usr/bin/env bash
# Set up autorl in ./.venv: torch (the CPU build when none is installed), then autorl with its
# test tools. Idempotent: a second run only checks. Usage: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch" 2>/dev/null; then
  # A bare `torch` requirement can pull a multi-GB CUDA build. Prefer the CPU build: a
  # local wheel when the machine has one (no download), else PyTorch's CPU index.
  # GPU users: install the torch build they want first, or set AUTORL_TORCH="torch".
  if [ -n "${AUTORL_TORCH:-}" ]; then
    "$VPY" -m pip install -q "$AUTORL_TORCH"
  elif "$VPY" -m pip install -q --no-index --no-deps "torch==2.13.0" 2>/dev/null; then
    "$VPY" -m pip install -q "torch==2.13.0"  # the local CPU wheel is in place; add its deps
  else
    "$VPY" -m pip install -q "torch>=2.3" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
if ! "$VPY" -c "import autorl, pytest, stable_baselines3, optuna" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.autorl-installed ]; then
  "$VPY" -m pip install -q -e ".[dev]"
  touch .venv/.autorl-installed
fi

#!/usr/bin/env bash
# Regenerate docs/chart-history.md: the static and upgrade lanes over the fifteen released charts
# (../shared/upstream-charts) with their defaults and README values (fixtures/history), each finding labelled
# by fixtures/history/triage.yaml. Run after a rule changes; tests/upstream/test_chart_history.py pins the file.
set -euo pipefail
cd "$(dirname "$0")/.."
charts="${UPSTREAM_CHARTS:-../shared/upstream-charts}"
python=".venv/bin/python"
[ -x "$python" ] || python=python3
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$python" -m quickmeet_conformance.cli history "$charts"/rocketchat-* \
  --values-dir fixtures/history --triage fixtures/history/triage.yaml --format markdown \
  -o docs/chart-history.md "$@"

#!/usr/bin/env bash
# The project's test command (README; .ci/run calls exactly this): installs what is missing, lints, checks
# the format and the types, then runs the framework's self-tests and every suite, on helm 3 and helm 4, with
# the KWOK live lane and the long interruption loop (--run-slow).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install.sh --no-run
# the checks a Python codebase runs on itself (configured in pyproject.toml), before any test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
mkdir -p reports
exec .venv/bin/python -m pytest tests suites -p no:cacheprovider -q \
  --run-slow --junitxml reports/junit.xml --conformance-report reports/conformance.json "$@"

#!/usr/bin/env bash
# The project's test command (README; .ci/run calls exactly this): installs what is missing, lints, checks
# the format and the types, then runs
# the framework's self-tests and every suite, on helm 3 and helm 4, with the KWOK live lane and the long
# interruption loop (--run-slow); then one full kind scenario (real containers: the reference values
# installed, live rules + NATS bus and DDP probes, and the kind mutants) unless QMC_SKIP_KIND=1.
# The whole kind matrix (every values file) is `tox -e live-kind`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install.sh --no-run
# the checks a Python codebase runs on itself (configured in pyproject.toml), before any test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
mkdir -p reports
status=0
.venv/bin/python -m pytest tests suites -p no:cacheprovider -q \
  --run-slow --junitxml reports/junit.xml --conformance-report reports/conformance.json "$@" || status=$?
if [ -z "${QMC_SKIP_KIND:-}" ]; then
  .venv/bin/python -m pytest suites/live/test_topology.py suites/live/test_rollouts.py suites/live/test_probes.py \
    tests/kind/test_kind_mutants.py -p no:cacheprovider -q \
    --cluster kind --kind-images local --values fixtures/values/seed-docs.yaml \
    --junitxml reports/junit-kind.xml --conformance-report reports/conformance-kind.json || status=$?
fi
exit "$status"

#!/usr/bin/env bash
# The project's test command (README; .ci/run calls exactly this): installs what is missing, lints, checks
# the format and the types, then runs the framework's self-tests and every suite, on helm 3 and helm 4, with
# the KWOK live lane and the long interruption loop (--run-slow); then one full kind scenario (real
# containers: the reference values and a stream-hub era release installed, live rules + NATS bus and DDP
# probes, the kind mutants, the monolith -> microservices helm upgrade probed before and after, a stream-hub
# rollout that surges to two real pods, the public chart 6.29.0 on the wire and 6.27.1's two hubs, and the
# correct releases again with the CPU saturated by stress-ng: QMC_KIND_REPEAT times, default 1, every run
# the same verdicts; bench/kind_under_load.py runs 20) unless QMC_SKIP_KIND=1. The whole kind matrix (every
# values file) is `tox -e live-kind`.
#
# CI has 90 minutes for all of it. A cold build of the kind lane's images (node image, stand-ins, Traefik:
# ~12 min of Go builds on 2 cores, after the KWOK control plane's ~7; docs/kind-images.md) is therefore
# bounded: it may use what is left of QMC_KIND_BUILD_BUDGET_S (default 2700 s, counted from the start of
# this script). The kind lane never disappears quietly: run as root, the command either runs the kind
# scenario or fails with the reason (images not built in time, a failed build); only QMC_SKIP_KIND=1 (asked
# for by name) or a non-root run leaves it out, and the last line says so. The last line of the output is
# the kind scenario's count ("kind: N passed, N failed, N skipped"), read from its JUnit file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$(date +%s)
QMC_SKIP_KIND=1 scripts/install.sh --no-run
# the checks a Python codebase runs on itself (configured in pyproject.toml), before any test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports  # the layers and no import cycles (pyproject.toml [tool.importlinter])

kind_ready=0
kind_why=""
if [ -n "${QMC_SKIP_KIND:-}" ]; then
  kind_why="QMC_SKIP_KIND is set"
elif [ "$(id -u)" != 0 ]; then
  kind_why="not root: run scripts/setup-docker.sh and scripts/build-kind-node-image.sh as root"
else
  left=$(( ${QMC_KIND_BUILD_BUDGET_S:-2700} - ($(date +%s) - t0) ))
  if [ "$left" -lt 60 ]; then
    kind_why="no time left in QMC_KIND_BUILD_BUDGET_S to build the kind images"
  else
    printf '\n== kind lane images (dockerd, node image, app stand-ins, Traefik): at most %ss\n' "$left"
    if timeout --signal=TERM --kill-after=60 "$left" bash -c \
        'scripts/setup-docker.sh && scripts/build-kind-node-image.sh && scripts/build-app-images.sh'; then
      kind_ready=1
    else
      rc=$?
      if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        kind_why="the kind images were not built within ${left}s (cold Go builds); the caches keep what was built"
      else
        kind_why="building the kind images failed (exit $rc): see the lines above"
      fi
    fi
  fi
fi

# reports/ starts empty: a report left by an earlier run must never pass for this run's
rm -rf reports
mkdir -p reports
status=0
kind_required=0
if [ -z "${QMC_SKIP_KIND:-}" ] && [ "$(id -u)" = 0 ]; then
  kind_required=1
  # root can run the kind lane, so a kind test that finds no dockerd or image fails instead of skipping
  export QMC_REQUIRE_KIND=1
  if [ "$kind_ready" != 1 ]; then status=1; fi
fi
# the kind scenario's own files run only there (with --cluster kind); here they would only be listed skipped
.venv/bin/python -m pytest tests suites -p no:cacheprovider -q \
  --ignore tests/kind/test_kind_mutants.py --ignore tests/kind/test_kind_upgrade.py \
  --ignore tests/kind/test_kind_public_chart.py --ignore tests/kind/test_kind_repeat.py \
  --ignore tests/kind/test_kind_existing.py \
  --run-slow --junitxml reports/junit.xml --conformance-report reports/conformance.json "$@" || status=$?
if [ "$kind_ready" = 1 ]; then
  timeout --signal=TERM --kill-after=120 "${QMC_KIND_SCENARIO_TIMEOUT_S:-3600}" \
    .venv/bin/python -m pytest suites/live/test_topology.py suites/live/test_rollouts.py suites/live/test_probes.py \
    tests/kind/test_kind_mutants.py tests/kind/test_kind_upgrade.py tests/kind/test_kind_public_chart.py \
    tests/kind/test_kind_existing.py tests/kind/test_kind_repeat.py --kind-repeat "${QMC_KIND_REPEAT:-1}" \
    "tests/live/test_live_mutants.py::test_live_mutant_is_killed[streamhub-peak-one--max-surge-1]" \
    -p no:cacheprovider -q \
    --cluster kind --kind-images local --values fixtures/values/seed-docs.yaml \
    --values fixtures/values/old-app-streamhub.yaml \
    --junitxml reports/junit-kind.xml --conformance-report reports/conformance-kind.json || status=$?
  # pass, fail or timeout: the run leaves no cluster, node container, network or real-name image tag
  .venv/bin/python scripts/kind-leftovers.py || status=1
fi
printf '\ntest command: %ss in all\n' "$(( $(date +%s) - t0 ))"
printf 'main: %s\n' "$(scripts/junit-count.py reports/junit.xml)"
if [ "$kind_ready" = 1 ]; then
  printf 'kind: %s\n' "$(scripts/junit-count.py reports/junit-kind.xml)"
elif [ "$kind_required" = 1 ]; then
  printf 'kind: FAILED, not run: %s\n' "$kind_why"
else
  printf 'kind: not run (%s)\n' "$kind_why"
fi
exit "$status"

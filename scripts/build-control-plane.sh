#!/usr/bin/env bash
# Build a local Kubernetes control plane from the Go module proxy (no Docker, no release tarballs):
#   kube-apiserver, kube-controller-manager, kube-scheduler  (tools/controlplane/kube, k8s.io/kubernetes)
#   etcd                                                      (tools/controlplane/etcd, go.etcd.io/etcd/server/v3)
#   kwok + kwok-stages.yaml (kwok's default "fast" stages)    (tools/controlplane/kwok, sigs.k8s.io/kwok)
# into ${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}/controlplane/<k8s-version>/bin
# and symlink them into ${QMC_TOOLS_BIN:-<repo>/.tools/bin}. Versions are pinned by the wrapper go.mod/go.sum files.
#
# Idempotent: a binary already in the cache that runs and reports the pinned version is kept.
# Usage: scripts/build-control-plane.sh [--force] [kube|etcd|kwok ...]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULES="$REPO_ROOT/tools/controlplane"
LINK_DIR="${QMC_TOOLS_BIN:-$REPO_ROOT/.tools/bin}"

force=0
components=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    kube|etcd|kwok) components+=("$arg") ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build-control-plane: unknown argument '$arg' (expected --force, kube, etcd, kwok)" >&2; exit 2 ;;
  esac
done
[ ${#components[@]} -gt 0 ] || components=(kube etcd kwok)

command -v go >/dev/null || { echo "build-control-plane: go not found on PATH (need Go >= 1.26)" >&2; exit 1; }

module_version() {  # module_version <wrapper dir> <module path>
  (cd "$1" && go list -mod=readonly -m -f '{{.Version}}' "$2")
}
module_dir() {  # module_dir <wrapper dir> <module path>  (downloads it if needed)
  (cd "$1" && go mod download "$2" && go list -mod=readonly -m -f '{{.Dir}}' "$2")
}

KUBE_VERSION="$(module_version "$MODULES/kube" k8s.io/kubernetes)"
ETCD_VERSION="$(module_version "$MODULES/etcd" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(module_version "$MODULES/kwok" sigs.k8s.io/kwok)"
CACHE_ROOT="${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}"
BIN="$CACHE_ROOT/controlplane/$KUBE_VERSION/bin"
mkdir -p "$BIN" "$LINK_DIR"

# Reproducible, path-free builds; -mod=readonly so a build never edits the committed go.mod/go.sum.
BUILD_FLAGS=(-trimpath -buildvcs=false -mod=readonly)
# Static binaries, as upstream builds them. It also keeps the Go build cache's keys identical to
# build-kind-node-image.sh's (CGO_ENABLED=0 there): with cgo on, every package above `net` compiles twice and
# the node image's kubelet, kubeadm, kubectl and kube-proxy reuse nothing of this build.
export CGO_ENABLED=0

echo "control plane: kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION -> $BIN ($(go version | cut -d' ' -f3))"

# up_to_date <binary> <text its --version output must contain>
up_to_date() {
  [ "$force" = 0 ] && [ -x "$BIN/$1" ] && "$BIN/$1" --version 2>&1 | grep -qF -- "$2"
}

timed() {  # timed <label> <command...>: run, then print the wall-clock time it took
  local label="$1" start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  echo "  built $label in $((end - start))s"
}

build_kube() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler) name stale=0
  for name in "${names[@]}"; do up_to_date "$name" "Kubernetes $KUBE_VERSION" || stale=1; done
  if [ "$stale" = 0 ]; then echo "  kube-apiserver, kube-controller-manager, kube-scheduler $KUBE_VERSION: cached"; return; fi
  local minor="${KUBE_VERSION#v}" ldflags="-s -w" pkg
  local major="${minor%%.*}"
  minor="${minor#*.}"; minor="${minor%%.*}"
  # What hack/lib/version.sh stamps, so /version and --version report the real release.
  local build_date
  build_date="$(cd "$MODULES/kube" && go list -mod=readonly -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
  done
  echo "  building kube-apiserver, kube-controller-manager, kube-scheduler $KUBE_VERSION (the long pole: ~5 min cold on 2 cores, seconds when the Go build cache is warm)"
  (cd "$MODULES/kube" && timed "kubernetes $KUBE_VERSION" go build "${BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
}

build_etcd() {
  if up_to_date etcd "etcd Version: ${ETCD_VERSION#v}"; then echo "  etcd $ETCD_VERSION: cached"; return; fi
  (cd "$MODULES/etcd" && timed "etcd $ETCD_VERSION" go build "${BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$BIN/etcd" .)
}

# kwok's default stages (kustomize/stage/fast: node-initialize, node heartbeat with lease, pod
# ready/complete/delete) are read from the kwok module itself, so they always match the binary.
write_kwok_stages() {
  local root out
  root="$(module_dir "$MODULES/kwok" sigs.k8s.io/kwok)/kustomize/stage"
  out="$BIN/kwok-stages.yaml.tmp"
  echo "# kwok $KWOK_VERSION default stages, from sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage/fast" >"$out"
  append_kustomization "$root/fast" "$out"
  mv "$out" "$BIN/kwok-stages.yaml"
}
append_kustomization() {  # append_kustomization <dir> <out>: every resource, recursively, as one stream
  local dir="$1" out="$2" entry
  while IFS= read -r entry; do
    if [ -d "$dir/$entry" ]; then
      append_kustomization "$(cd "$dir/$entry" && pwd)" "$out"
    else
      { echo "---"; cat "$dir/$entry"; } >>"$out"
    fi
  done < <(awk '/^resources:/{on=1; next} /^[^ -]/{on=0} on && /^- /{sub(/^- */, ""); print}' "$dir/kustomization.yaml")
}

build_kwok() {
  if up_to_date kwok "$KWOK_VERSION" && [ -s "$BIN/kwok-stages.yaml" ]; then echo "  kwok $KWOK_VERSION: cached"; return; fi
  (cd "$MODULES/kwok" && timed "kwok $KWOK_VERSION" go build "${BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok)
  write_kwok_stages
}

total_start=$(date +%s)
for component in "${components[@]}"; do "build_$component"; done

linked=()
for name in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwok-stages.yaml; do
  if [ -e "$BIN/$name" ]; then
    ln -sfn "$BIN/$name" "$LINK_DIR/$name"
    linked+=("$name")
  fi
done
echo "linked into $LINK_DIR: ${linked[*]}"
echo "done in $(( $(date +%s) - total_start ))s"

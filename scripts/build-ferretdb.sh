#!/usr/bin/env bash
# Build FerretDB v1 (a MongoDB wire-protocol server on SQLite) from the Go module proxy: the kind lane runs
# it as the release's MongoDB (the bitnami workload's image, see docs/kind-images.md "The MongoDB").
#
# The version is the one tools/images/ferretdb/go.mod requires (its go.sum checks the download). FerretDB's
# binary refuses to start without build/version/version.txt, which its own build generates from git: the
# module is copied from the module cache, version.txt written, and built there with its own go.mod/go.sum
# (CGO_ENABLED=0; the SQLite backend is pure Go; the PostgreSQL handler is left out).
#
# Output: ${QMC_CACHE:-~/.cache/quickmeet-conformance}/images/ferretdb/<version>/ferretdb (cached: a re-run
# with the binary present does nothing). Never required: scripts/build-app-images.sh builds without it and
# the MongoDB image then falls back to the wire-protocol stand-in (said in its log).
#
# Usage: scripts/build-ferretdb.sh [--force] [--print-path]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$REPO_ROOT/tools/images/ferretdb"
CACHE="${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}/images"
FERRET=github.com/FerretDB/FerretDB

force=0
print_path=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-path) print_path=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-ferretdb: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf 'build-ferretdb: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

VERSION="$(cd "$MODULE" && GOTOOLCHAIN=local go list -mod=readonly -m -f '{{.Version}}' "$FERRET" 2>/dev/null || true)"
[ -n "$VERSION" ] || die "cannot read the FerretDB version from $MODULE/go.mod"
BIN="$CACHE/ferretdb/$VERSION/ferretdb"
if [ "$print_path" = 1 ]; then echo "$BIN"; exit 0; fi
if [ "$force" = 0 ] && [ -x "$BIN" ]; then
  log "cached $BIN"
  exit 0
fi
command -v go >/dev/null || die "go not found on PATH"

start=$(date +%s)
# The download is checked against tools/images/ferretdb/go.sum (module mode, read-only).
dir="$(cd "$MODULE" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly timeout 600 go mod download -json "$FERRET" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$dir" ] || die "go mod download $FERRET@$VERSION failed"
work="$(mktemp -d "${TMPDIR:-/tmp}/qmc-ferretdb.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
printf '%s\n' "$VERSION" > "$work/src/build/version/version.txt"
printf 'quickmeet-conformance kind lane\n' > "$work/src/build/version/package.txt"
mkdir -p "$(dirname "$BIN")"
log "FerretDB $VERSION: go build (SQLite backend)"
(cd "$work/src" && GOTOOLCHAIN=local CGO_ENABLED=0 timeout 1800 nice -n 10 go build -trimpath -buildvcs=false \
  -mod=readonly -tags ferretdb_no_postgresql -ldflags "-s -w" -o "$BIN.tmp" ./cmd/ferretdb) \
  || die "go build of FerretDB failed"
mv "$BIN.tmp" "$BIN"
log "built $BIN ($(du -h "$BIN" | cut -f1)) in $(( $(date +%s) - start )) s"

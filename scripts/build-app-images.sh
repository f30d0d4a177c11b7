#!/usr/bin/env bash
# Build the application images the kind lane runs, from the registries only (Debian, npm, Go proxy):
#
#   localhost/qmc/base:<key>            debootstrap bookworm (minbase) + Debian nodejs + nats-server,
#                                       one layer shared by every image below
#   localhost/qmc/standin-app:<key>     + the stand-in program (tools/images/standin, npm ci from the
#                                       committed lock)
#   localhost/qmc/<component>:local     monolith ddp-streamer accounts authorization presence stream-hub
#                                       mongodb aux: the stand-in, told which component to be
#                                       (mongodb: FerretDB v1 from scripts/build-ferretdb.sh behind the
#                                       bitnami image's script names, when built)
#   localhost/qmc/nats:local            Debian's nats-server (the real software)
#   localhost/qmc/traefik:<version>     Traefik v3 (tools/images/traefik, Go module proxy), the
#                                       ingress controller; a one-file image
#
# quickmeet_conformance/clusters/images.py tags these under the exact references a rendered release uses and
# loads them into the kind cluster. The rootfs tarball and the Traefik binary are cached under
# ${QMC_CACHE:-~/.cache/quickmeet-conformance}/images; docker's build cache makes a re-run instant.
#
# Usage: scripts/build-app-images.sh [--force] [--no-docker] [rootfs|npm|traefik|ferretdb|images ...]
#   --no-docker  build the cached inputs (rootfs tarball, node_modules, Traefik) but no image
#   --force      rebuild the cached inputs too
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STANDIN_DIR="$REPO_ROOT/tools/images/standin"
TRAEFIK_MODULE="$REPO_ROOT/tools/images/traefik"
CACHE="${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}/images"
MIRROR="${QMC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# Base packages: the stand-ins' runtime and the real NATS server.
BASE_PACKAGES="nodejs,nats-server"
COMPONENTS=(monolith ddp-streamer accounts authorization presence stream-hub mongodb aux)
REPO_PREFIX="${QMC_STANDIN_PREFIX:-localhost/qmc}"  # another prefix keeps a test build apart
DOCKER_TIMEOUT="${QMC_DOCKER_TIMEOUT:-600}"

force=0
docker_images=1
stages=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --no-docker) docker_images=0 ;;
    rootfs|npm|traefik|ferretdb|images) stages+=("$arg") ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build-app-images: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=(rootfs npm traefik ferretdb images)
[ "$docker_images" = 1 ] || stages=("${stages[@]/images/}")

log() { printf 'build-app-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
timed() {  # timed <label> <command...>: run, then print the wall-clock time it took
  local label="$1" start
  shift
  start=$(date +%s)
  "$@"
  log "$label: $(( $(date +%s) - start )) s"
}

mkdir -p "$CACHE"
workdirs=()
cleanup() { local d; for d in "${workdirs[@]}"; do rm -rf --one-file-system "$d"; done; }
trap cleanup EXIT

# ------------------------------------------------------------------------------------------- rootfs
ROOTFS_KEY="$(printf '%s %s %s' "$SUITE" "$BASE_PACKAGES" "$MIRROR" | sha256sum | cut -c1-12)"
ROOTFS_TAR="$CACHE/rootfs-$SUITE-minbase-$ROOTFS_KEY.tar"

build_rootfs() {
  if [ "$force" = 0 ] && [ -s "$ROOTFS_TAR" ]; then
    log "rootfs: cached $ROOTFS_TAR"
    return
  fi
  command -v debootstrap >/dev/null || {
    log "installing debootstrap (Debian package)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends debootstrap \
      || die "apt-get install debootstrap failed (run apt-get update first?)"
  }
  local dir
  dir="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  workdirs+=("$dir")
  log "rootfs: debootstrap --variant=minbase --include=$BASE_PACKAGES $SUITE ($MIRROR)"
  timeout 1800 nice -n 10 debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$dir/root" "$MIRROR" \
    > "$dir/debootstrap.log" 2>&1 || { tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
  # What a container never reads: docs, man pages, locales, apt lists and caches.
  rm -rf "$dir/root/usr/share/doc" "$dir/root/usr/share/man" "$dir/root/usr/share/info" \
    "$dir/root/usr/share/locale" "$dir/root/var/lib/apt/lists" "$dir/root/var/cache/apt"/*.bin \
    "$dir/root/var/cache/apt/archives"/*.deb "$dir/root/var/log"/*.log "$dir/root/var/cache/debconf"/*-old
  mkdir -p "$dir/root/var/lib/apt/lists/partial"
  # The nats-server package's service is for systemd hosts; a container runs the binary itself.
  tar --numeric-owner --xattrs -C "$dir/root" -cf "$dir/rootfs.tar" .
  mv "$dir/rootfs.tar" "$ROOTFS_TAR"
  log "rootfs: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

# ---------------------------------------------------------------------------------------------- npm
build_npm() {
  command -v npm >/dev/null || die "npm is not on PATH (Node.js + npm are needed to install the stand-in)"
  local stamp="$STANDIN_DIR/node_modules/.package-lock.json"
  if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$stamp" -nt "$STANDIN_DIR/package-lock.json" ]; then
    log "npm: tools/images/standin/node_modules is up to date"
    return
  fi
  log "npm ci in tools/images/standin"
  (cd "$STANDIN_DIR" && timeout 300 npm ci --omit=dev --no-audit --no-fund --loglevel=error) \
    || die "npm ci in $STANDIN_DIR failed or timed out"
}

# ------------------------------------------------------------------------------------------ traefik
TRAEFIK_VERSION="$(cd "$TRAEFIK_MODULE" && go list -mod=readonly -m -f '{{.Version}}' github.com/traefik/traefik/v3 \
  2>/dev/null || echo unknown)"
TRAEFIK_BIN="$CACHE/traefik/$TRAEFIK_VERSION/traefik"

build_traefik() {
  command -v go >/dev/null || die "go not found on PATH (need Go >= 1.26 to build Traefik)"
  [ "$TRAEFIK_VERSION" != unknown ] || die "cannot read the Traefik version from $TRAEFIK_MODULE/go.mod"
  if [ "$force" = 0 ] && [ -x "$TRAEFIK_BIN" ] && "$TRAEFIK_BIN" version 2>/dev/null | grep -qF "$TRAEFIK_VERSION"; then
    log "traefik: cached $TRAEFIK_BIN"
    return
  fi
  mkdir -p "$(dirname "$TRAEFIK_BIN")"
  log "traefik $TRAEFIK_VERSION: go build (large: several minutes on 2 cores)"
  (cd "$TRAEFIK_MODULE" && CGO_ENABLED=0 timed "traefik build" nice -n 10 go build -trimpath -buildvcs=false \
    -mod=readonly -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$TRAEFIK_BIN.tmp" github.com/traefik/traefik/v3/cmd/traefik) || die "traefik build failed"
  mv "$TRAEFIK_BIN.tmp" "$TRAEFIK_BIN"
  log "traefik: $TRAEFIK_BIN ($(du -h "$TRAEFIK_BIN" | cut -f1))"
}

# ------------------------------------------------------------------------------------------- images
docker_ok() { timeout 20 docker info >/dev/null 2>&1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# build_from <tag> <context dir> <Dockerfile text>: docker build with no network (no RUN step needs it).
build_from() {
  local tag="$1" context="$2" dockerfile="$3" err
  err="$(mktemp)"
  if ! printf '%s\n' "$dockerfile" | timeout "$DOCKER_TIMEOUT" docker build -q --network none -t "$tag" -f - \
      "$context" >/dev/null 2>"$err"; then
    grep -v -e DEPRECATED -e 'legacy builder' -e buildx -e '^ *$' "$err" >&2 || true
    rm -f "$err"
    die "docker build $tag failed"
  fi
  rm -f "$err"
}

build_images() {
  docker_ok || die "docker is not reachable (run scripts/setup-docker.sh, then re-run this script)"
  [ -s "$ROOTFS_TAR" ] || die "missing $ROOTFS_TAR (run: scripts/build-app-images.sh rootfs)"
  [ -d "$STANDIN_DIR/node_modules/moleculer" ] || die "missing stand-in node_modules (run: scripts/build-app-images.sh npm)"

  local base="$REPO_PREFIX/base:$ROOTFS_KEY"
  if [ "$force" = 1 ] || ! have_image "$base"; then
    timed "import $base" timeout "$DOCKER_TIMEOUT" docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/bash"]' "$ROOTFS_TAR" "$base" >/dev/null || die "docker import $ROOTFS_TAR failed"
  fi

  # The stand-in program: its own files only (no tests, no lock noise), keyed by their content.
  local ctx app_key app
  ctx="$(mktemp -d)"
  workdirs+=("$ctx")
  mkdir -p "$ctx/standin"
  (cd "$STANDIN_DIR" && cp -a package.json package-lock.json node_modules ./*.js lib bin bitnami "$ctx/standin/")
  app_key="$( (cd "$ctx/standin" && find . -type f ! -path './node_modules/.package-lock.json' -print0 | sort -z \
    | xargs -0 sha256sum) | sha256sum | cut -c1-12)"
  app="$REPO_PREFIX/standin-app:$app_key"
  if [ "$force" = 1 ] || ! have_image "$app"; then
    timed "build $app" build_from "$app" "$ctx" "FROM $base
COPY standin /opt/qmc-standin
LABEL org.opencontainers.image.title=\"QuickMeet.Chat stand-ins\" quickmeet.chat/standin=app"
  fi

  # One image per component: only metadata differs. The component is baked into the image (ENV and
  # ENTRYPOINT), never read from the pod, so an image in the wrong place behaves as that component.
  # Old stand-in-app builds go (their layers stay while a component image uses them).
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$REPO_PREFIX/standin-app" | grep -vxF "$app" \
    | xargs -r docker rmi >/dev/null 2>&1 || true

  # The component images add metadata only: a small build context (docker sends it on every build).
  local meta
  meta="$(mktemp -d)"
  workdirs+=("$meta")
  mkdir -p "$meta/standin/bin"
  cp "$STANDIN_DIR/bin/qmc-aux" "$meta/standin/bin/"
  local ferretdb_bin
  ferretdb_bin="$("$REPO_ROOT/scripts/build-ferretdb.sh" --print-path)"
  local fctx  # the MongoDB image's context: the metadata context plus the FerretDB binary (29 MB)
  fctx="$(mktemp -d)"
  workdirs+=("$fctx")
  cp -a "$meta/standin" "$fctx/"
  if [ -x "$ferretdb_bin" ]; then
    cp "$ferretdb_bin" "$fctx/ferretdb"
  else
    log "FerretDB not built ($ferretdb_bin): the MongoDB image runs the wire-protocol stand-in (scripts/build-ferretdb.sh)"
  fi
  # The aux stand-in also answers to the sidecar commands charts run (nats subchart: reloader, exporter).
  local component extra
  for component in "${COMPONENTS[@]}"; do
    extra=""
    entry="ENTRYPOINT [\"/usr/bin/node\", \"/opt/qmc-standin/standin.js\", \"$component\"]"
    if [ "$component" = aux ]; then
      extra="COPY standin/bin/qmc-aux /usr/local/bin/nats-server-config-reloader
COPY standin/bin/qmc-aux /usr/local/bin/prometheus-nats-exporter
RUN ln -s /opt/qmc-standin/bin/mongodb_exporter /bin/mongodb_exporter"
    fi
    if [ "$component" = mongodb ]; then
      # The bitnami image's layout: the chart's setup.sh and probes call these paths and mongosh.
      extra="RUN mkdir -p /opt/bitnami /bitnami/mongodb && chmod 0777 /bitnami/mongodb \\
 && ln -s /opt/qmc-standin/bitnami /opt/bitnami/scripts \\
 && ln -s /opt/qmc-standin/bin/mongosh /usr/local/bin/mongosh"
      if [ -f "$fctx/ferretdb" ]; then
        extra="$extra
COPY ferretdb /usr/local/bin/ferretdb
ENV QMC_FERRETDB=/usr/local/bin/ferretdb"
      fi
      entry="ENTRYPOINT [\"/opt/bitnami/scripts/mongodb/entrypoint.sh\"]
CMD [\"/opt/bitnami/scripts/mongodb/run.sh\"]"
    fi
    build_from "$REPO_PREFIX/$component:local" "$([ "$component" = mongodb ] && echo "$fctx" || echo "$meta")" "FROM $app
$extra
ENV QMC_STANDIN_COMPONENT=$component
$entry
LABEL quickmeet.chat/standin=\"$component\""
  done
  build_from "$REPO_PREFIX/nats:local" "$meta" "FROM $base
ENTRYPOINT [\"/usr/sbin/nats-server\"]
CMD [\"-m\", \"8222\"]
EXPOSE 4222 6222 8222
LABEL quickmeet.chat/standin=\"nats\""

  if [ -x "$TRAEFIK_BIN" ]; then
    local traefik="$REPO_PREFIX/traefik:$TRAEFIK_VERSION"
    if [ "$force" = 1 ] || ! have_image "$traefik"; then
      local tctx
      tctx="$(mktemp -d)"
      workdirs+=("$tctx")
      mkdir -p "$tctx/root/tmp" "$tctx/root/etc"
      chmod 1777 "$tctx/root/tmp"
      cp "$TRAEFIK_BIN" "$tctx/root/traefik"
      printf 'root:x:0:0:root:/:/traefik\nnobody:x:65534:65534:nobody:/:/traefik\n' > "$tctx/root/etc/passwd"
      tar --numeric-owner -C "$tctx/root" -cf "$tctx/traefik.tar" .
      timed "import $traefik" timeout "$DOCKER_TIMEOUT" docker import --change 'ENTRYPOINT ["/traefik"]' \
        --change 'EXPOSE 80 443 8080' "$tctx/traefik.tar" "$traefik" >/dev/null || die "docker import traefik failed"
    fi
    docker tag "$traefik" "$REPO_PREFIX/traefik:local"
  else
    log "traefik binary missing ($TRAEFIK_BIN): run scripts/build-app-images.sh traefik"
  fi

  # An older kind lane tagged stand-ins under real image names on the host (rocketchat/..., bitnami/mongodb):
  # untag those (the image stays under its localhost/qmc name), so no `docker run <real name>` gets a stand-in.
  local stale
  stale="$(cd "$REPO_ROOT" && PYTHONPATH="$REPO_ROOT" "$REPO_ROOT/.venv/bin/python" -c \
    'from quickmeet_conformance.clusters.images import real_name_tags; print("\n".join(real_name_tags()))' \
    2>/dev/null || true)"
  if [ -n "$stale" ]; then
    log "untagging stand-ins left under real image names: $(echo $stale)"
    # shellcheck disable=SC2086
    docker rmi $stale >/dev/null || true
  fi
  # Rebuilt stand-ins leave their old images untagged: only ours go (by label, dangling only).
  docker image prune -f --filter label=quickmeet.chat/standin >/dev/null 2>&1 || true

  log "images:"
  docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' "$REPO_PREFIX/*" >&2
}

! want rootfs || build_rootfs
! want npm || build_npm
! want traefik || build_traefik
# FerretDB is never required: without it the MongoDB image is the wire-protocol stand-in (logged).
! want ferretdb || timed "ferretdb" "$REPO_ROOT/scripts/build-ferretdb.sh" $([ "$force" = 1 ] && echo --force) \
  || log "FerretDB build failed: the MongoDB image will be the wire-protocol stand-in"
! want images || build_images

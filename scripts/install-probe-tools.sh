#!/usr/bin/env bash
# Install what the protocol-probe self-tests need: nats-server, nginx, stress-ng (Debian packages; stress-ng
# saturates the CPU for the kind lane's repeat loop, tests/kind/test_kind_repeat.py) and the
# pinned Moleculer/DDP test peers (tools/images/standin/node_modules, from the committed package-lock.json;
# fixtures/moleculer/broker.js and fixtures/ddp/server.py run the kind-lane stand-ins' code).
# Idempotent: already-installed tools are left alone; apt-get update runs only when a package is not
# installable from the current package lists. Every network step has a timeout.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peer_dir="$repo_root/tools/images/standin"
apt_timeout="${PROBE_TOOLS_APT_TIMEOUT:-600}"
npm_timeout="${PROBE_TOOLS_NPM_TIMEOUT:-300}"

log() { printf 'install-probe-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root (or sudo) to run: $*"
    fi
}

# Debian package -> the binary that proves it is installed.
declare -A debs=([nats-server]=nats-server [nginx]=nginx [openssl]=openssl [stress-ng]=stress-ng)

missing=()
for pkg in "${!debs[@]}"; do
    bin="${debs[$pkg]}"
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    log "installing Debian packages: ${missing[*]}"
    # Only refresh the lists when a package has no install candidate (fresh image, stale lists).
    needs_update=0
    for pkg in "${missing[@]}"; do
        candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
        if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then needs_update=1; fi
    done
    if [ "$needs_update" -eq 1 ]; then
        log "apt-get update (a package has no install candidate)"
        as_root timeout "$apt_timeout" apt-get update -q || die "apt-get update failed or timed out"
    fi
    if ! as_root timeout "$apt_timeout" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        # Stale lists give 404s on install; refresh once and retry.
        log "apt-get install failed; refreshing package lists and retrying once"
        as_root timeout "$apt_timeout" apt-get update -q || die "apt-get update failed or timed out"
        as_root timeout "$apt_timeout" apt-get install -y -q --no-install-recommends "${missing[@]}" \
            || die "apt-get install ${missing[*]} failed"
    fi
    # The Debian nginx package starts a system nginx on port 80; the tests run their own instances.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
        as_root systemctl stop nginx || true
    fi
fi

command -v node >/dev/null || die "node is not on PATH (Node >= 18 is needed for the Moleculer test peer)"
command -v npm >/dev/null || die "npm is not on PATH"

# npm ci wipes node_modules every time: skip it when the installed tree already matches the lock.
stamp="$peer_dir/node_modules/.package-lock.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$peer_dir/package-lock.json" ] \
    && [ -f "$peer_dir/node_modules/moleculer/package.json" ] \
    && [ -f "$peer_dir/node_modules/nats/package.json" ] \
    && [ -f "$peer_dir/node_modules/ws/package.json" ]; then
    log "tools/images/standin/node_modules is up to date"
else
    log "npm ci in tools/images/standin"
    (cd "$peer_dir" && timeout "$npm_timeout" npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci in $peer_dir failed or timed out"
fi

nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
echo "nats-server: $("$nats_bin" --version 2>&1 | head -n1)"
echo "nginx:       $("$nginx_bin" -v 2>&1 | head -n1)"
echo "openssl:     $(openssl version)"
echo "stress-ng:   $(stress-ng --version 2>&1 | head -n1)"
echo "node:        $(node --version)"
echo "moleculer:   $(node -p "require('$peer_dir/node_modules/moleculer/package.json').version")"
echo "nats (npm):  $(node -p "require('$peer_dir/node_modules/nats/package.json').version")"

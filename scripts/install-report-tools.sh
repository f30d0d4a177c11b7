#!/usr/bin/env bash
# What the report tests need: headless Chromium (Debian package `chromium`) to render the --html report,
# and the mermaid library (tools/mermaid-check/node_modules, from the committed package-lock.json) to
# parse the --markdown report's diagrams. Idempotent; apt-get update only when chromium has no candidate.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check_dir="$repo_root/tools/mermaid-check"
apt_timeout="${REPORT_TOOLS_APT_TIMEOUT:-900}"
npm_timeout="${REPORT_TOOLS_NPM_TIMEOUT:-300}"

log() { printf 'install-report-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root (or sudo) to run: $*"
    fi
}

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    candidate="$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        log "apt-get update (chromium has no install candidate)"
        as_root timeout "$apt_timeout" apt-get update -q || die "apt-get update failed or timed out"
    fi
    log "installing Debian package chromium"
    if ! as_root timeout "$apt_timeout" apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; then
        log "apt-get install failed; refreshing package lists and retrying once"
        as_root timeout "$apt_timeout" apt-get update -q || die "apt-get update failed or timed out"
        as_root timeout "$apt_timeout" apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core \
            || die "apt-get install chromium failed"
    fi
fi

command -v node >/dev/null || die "node is not on PATH (Node >= 20 is needed to parse the Mermaid diagrams)"
command -v npm >/dev/null || die "npm is not on PATH"

stamp="$check_dir/node_modules/.package-lock.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$check_dir/package-lock.json" ] \
    && [ -f "$check_dir/node_modules/mermaid/package.json" ] && [ -f "$check_dir/node_modules/jsdom/package.json" ]; then
    log "tools/mermaid-check/node_modules is up to date"
else
    log "npm ci in tools/mermaid-check"
    (cd "$check_dir" && timeout "$npm_timeout" npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci in $check_dir failed or timed out"
fi

echo "chromium:    $(chromium --version 2>/dev/null | head -n1)"
echo "mermaid:     $(node -p "require('$check_dir/node_modules/mermaid/package.json').version")"

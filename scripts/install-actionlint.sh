#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, pinned) from the Go module proxy into .tools/bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v1.7.12
bin="$root/.tools/bin"
mkdir -p "$bin"
# actionlint checks run: scripts with shellcheck when it is on PATH (Debian package)
if ! command -v shellcheck >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  timeout 300 apt-get install -y -qq shellcheck >/dev/null 2>&1 || { apt-get update -qq && timeout 300 apt-get install -y -qq shellcheck >/dev/null; }
fi
if [ -x "$bin/actionlint" ] && "$bin/actionlint" -version 2>/dev/null | head -1 | grep -q "${version#v}"; then
  echo "install-actionlint: actionlint $version already built"; exit 0
fi
GOBIN="$bin" GOFLAGS=-trimpath timeout 600 go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
echo "install-actionlint: $("$bin/actionlint" -version | head -1)"

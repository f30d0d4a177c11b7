#!/usr/bin/env bash
# Sets up Docker for the kind lane, idempotently: Debian's docker.io (dockerd 20.10), a runc wrapper that
# drops CAP_SYS_RESOURCE (this machine's capability bounding set lacks it, so every --privileged container,
# which kind uses for its nodes, fails with "unable to apply caps") registered as dockerd's default runtime,
# dockerd started (in the background when there is no systemd), and a self-test of
# `docker run --privileged` + `docker exec --privileged` on a locally imported busybox image.
#   scripts/setup-docker.sh          install, configure, start, self-test
#   scripts/setup-docker.sh --stop   stop the dockerd this script started (by its pidfile)
# Needs root. Nothing is pulled from a registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
libdir=/usr/local/lib/qmc
wrapper=$libdir/runc-nocap
pidfile=/var/run/qmc-dockerd.pid
log=/var/log/qmc-dockerd.log
daemon_json=/etc/docker/daemon.json
selftest_image=quickmeet/selftest:busybox
say() { echo "setup-docker: $*"; }
docker_cli() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }

if [ "${1:-}" = "--stop" ]; then
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pid=$(cat "$pidfile"); kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    say "dockerd $pid stopped"
  else
    say "no dockerd started by this script is running"
  fi
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "setup-docker: needs root (apt-get, /etc/docker, dockerd)" >&2; exit 1; }
t0=$(date +%s)

# 1. packages (Debian only)
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v runc >/dev/null || missing+=(runc)
command -v python3 >/dev/null || missing+=(python3)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v debootstrap >/dev/null || missing+=(debootstrap)  # the kind node and stand-in images' root file systems
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
real_runc=$(command -v runc)
[ "$real_runc" != "$wrapper" ] || { echo "setup-docker: runc on PATH is the wrapper itself" >&2; exit 1; }

# 2. the capability-dropping runtime
mkdir -p "$libdir"
tmp=$(mktemp)
sed "s|@REAL_RUNC@|$real_runc|" "$root/tools/runc-nocap/runc-nocap" >"$tmp"
if ! cmp -s "$tmp" "$wrapper" 2>/dev/null; then
  install -m 0755 "$tmp" "$wrapper"; say "installed $wrapper (real runc: $real_runc)"
fi
rm -f "$tmp"

# 3. daemon.json: merge runtimes + default-runtime into whatever is there
mkdir -p /etc/docker
changed=$(python3 - "$daemon_json" "$wrapper" <<'EOF'
import json, os, sys
path, wrapper = sys.argv[1], sys.argv[2]
doc = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
want = dict(doc)
want.setdefault("runtimes", {})["runc-nocap"] = {"path": wrapper}
want["default-runtime"] = "runc-nocap"
if want != doc:
    with open(path + ".tmp", "w") as f:
        json.dump(want, f, indent=2)
    os.replace(path + ".tmp", path)
    print("changed")
EOF
)

# 4. dockerd
running_pid=""
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then running_pid=$(cat "$pidfile"); fi
if docker_cli info >/dev/null 2>&1; then
  if [ -n "$changed" ]; then
    # runtimes and default-runtime are live-reloadable
    if [ -n "$running_pid" ]; then kill -HUP "$running_pid"; else pkill -HUP -x dockerd || true; fi
    sleep 1; say "dockerd reloaded $daemon_json"
  fi
elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl restart docker
else
  say "starting dockerd in the background (log: $log, pidfile: $pidfile)"
  setsid nohup dockerd --pidfile "$pidfile" >>"$log" 2>&1 </dev/null &
fi
for _ in $(seq 120); do docker_cli info >/dev/null 2>&1 && break; sleep 0.5; done
docker_cli info >/dev/null 2>&1 || { echo "setup-docker: dockerd did not come up in 60s; see $log" >&2; tail -5 "$log" >&2 || true; exit 1; }
runtime=$(docker_cli info --format '{{.DefaultRuntime}}')
[ "$runtime" = runc-nocap ] || { echo "setup-docker: dockerd's default runtime is $runtime, not runc-nocap" >&2; exit 1; }
say "dockerd $(docker_cli version --format '{{.Server.Version}}') ready, default runtime $runtime"

# 5. self-test on a local image: privileged run + privileged exec
if ! docker_cli image inspect "$selftest_image" >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh sleep true cat grep; do ln -s busybox "$rootfs/bin/$applet"; done
  tar -C "$rootfs" -c . | docker_cli import -c 'CMD ["/bin/sleep","3600"]' - "$selftest_image" >/dev/null
  rm -rf "$rootfs"
fi
name=qmc-selftest-$$
trap 'docker_cli rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker_cli run -d --privileged --name "$name" "$selftest_image" >/dev/null
docker_cli exec --privileged "$name" /bin/sh -c 'grep -q CapBnd /proc/self/status'
docker_cli rm -f "$name" >/dev/null
say "self-test passed: docker run --privileged and docker exec --privileged ($(( $(date +%s) - t0 ))s)"

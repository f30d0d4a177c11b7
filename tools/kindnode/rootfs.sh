#!/usr/bin/env bash
# rootfs.sh <variant> <out.tar.gz>: a Debian bookworm root file system from deb.debian.org, as a tarball.
#   node      systemd + what kind's base image installs (kind v0.33.0 images/base/Dockerfile), runc from Debian
#   minbase   a small base for images that need iptables/conntrack (kube-proxy) or a shell (storage helper)
set -euo pipefail
variant=$1 out=$2
mirror=${QMC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$variant" in
  node) include=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl,jq,procps,runc,socat,ebtables,ipset,e2fsprogs,findutils,less ;;
  minbase) include=iptables,conntrack,ipset,kmod,ca-certificates ;;
  *) echo "rootfs.sh: unknown variant $variant" >&2; exit 2 ;;
esac
dir=$(mktemp -d /var/tmp/qmc-rootfs-XXXXXX)
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase --include="$include" bookworm "$dir" "$mirror" >"$dir.log" 2>&1 \
  || { tail -20 "$dir.log" >&2; exit 1; }
rm -f "$dir.log"
chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
mkdir -p "$(dirname "$out")"
tar -C "$dir" --numeric-owner -czf "$out.tmp" .
mv "$out.tmp" "$out"

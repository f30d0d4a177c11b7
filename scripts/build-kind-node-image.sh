#!/usr/bin/env bash
# Builds a kind node image for the Kubernetes version the live lane uses, without any container registry:
#   Debian bookworm (systemd 252: cgroup v1 still works) from deb.debian.org by debootstrap, kind v0.33.0's
#   base-image files (entrypoint, systemd units, kubelet drop-ins) read from the kind Go module, and
#   Go binaries built from the Go module proxy: kubelet/kubeadm/kubectl/kube-proxy + control plane
#   (tools/controlplane/kube, same version ldflags as build-control-plane.sh), etcd (tools/controlplane/etcd),
#   containerd 2 + shim + ctr, crictl, CNI plugins, CoreDNS, local-path-provisioner; pause compiled from
#   its C source in the Kubernetes module. The images kubeadm asks for are tagged exactly as it expects
#   (registry.k8s.io/...) and preloaded into the node's containerd, so `kind create cluster --image` pulls
#   nothing. CNI is a static bridge+host-local+portmap conflist (single node, kind's default podSubnet).
#
#   scripts/build-kind-node-image.sh [--force] [bins|rootfs|images|node ...]   (default: all, in order)
#   env: QMC_KIND_NODE_IMAGE (default quickmeet/kind-node:<k8s version>), QMC_CACHE
# Idempotent: every artifact is cached under ${QMC_CACHE:-~/.cache/quickmeet-conformance}/kindnode and the
# node image carries a label with the hash of its inputs; an image with the same hash is kept.
# Needs a running dockerd (scripts/setup-docker.sh), go, gcc, debootstrap; run as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/tools/kindnode
modules=$root/tools/controlplane
cache_root=${QMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quickmeet-conformance}
say() { echo "build-kind-node-image: $*"; }
die() { echo "build-kind-node-image: $*" >&2; exit 1; }

force=0; stages=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    bins|rootfs|images|node) stages+=("$arg") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (expected --force, bins, rootfs, images, node)" ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=(bins rootfs images node)
for tool in go gcc debootstrap docker; do command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup-docker.sh; go >= 1.26)"; done
docker info >/dev/null 2>&1 || die "dockerd is not running: run scripts/setup-docker.sh"

# --- versions (pinned) ------------------------------------------------------------------------------------
KUBE_VERSION=$(cd "$modules/kube" && go list -mod=readonly -m -f '{{.Version}}' k8s.io/kubernetes)
ETCD_VERSION=$(cd "$modules/etcd" && go list -mod=readonly -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
KIND_VERSION=v0.33.0
CONTAINERD_VERSION=v2.3.4      # kind v0.33.0 images/base/Dockerfile
CRICTL_VERSION=v1.36.0         # idem
CNI_PLUGINS_VERSION=v1.9.1     # idem
LOCAL_PATH_VERSION=v0.0.30     # github.com/rancher/local-path-provisioner, latest on the module proxy
image=${QMC_KIND_NODE_IMAGE:-quickmeet/kind-node:$KUBE_VERSION}
work=$cache_root/kindnode/$KUBE_VERSION
bin=$work/bin; images=$work/images
mkdir -p "$bin" "$images"
build_flags=(-trimpath -buildvcs=false)
timed() { local label=$1 start; shift; start=$(date +%s); "$@"; say "$label: $(( $(date +%s) - start ))s"; }
kind_dir() { (cd "$work" && GOFLAGS= go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" \
  | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); }

# --- bins: every binary the node and its images need ------------------------------------------------------
kube_ldflags() {
  local major minor build_date pkg flags="-s -w"
  minor=${KUBE_VERSION#v}; major=${minor%%.*}; minor=${minor#*.}; minor=${minor%%.*}
  build_date=$(cd "$modules/kube" && go list -mod=readonly -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
  done
  echo "$flags"
}
have() { [ "$force" = 0 ] && [ -x "$bin/$1" ]; }
kube_current() {  # kube_current <name>: built and reporting $KUBE_VERSION (kubeadm, kubectl: no --version flag)
  local args=(--version)
  case "$1" in kubeadm) args=(version -o short) ;; kubectl) args=(version --client) ;; esac
  have "$1" && "$bin/$1" "${args[@]}" 2>&1 | grep -qF "$KUBE_VERSION"
}
go_install() {  # go_install <module@version> <package...>: static binaries into $bin
  local mod=$1; shift
  GOBIN=$bin CGO_ENABLED=0 GOFLAGS=-mod=mod nice go install "${build_flags[@]}" -ldflags "-s -w ${LDX:-}" \
    -tags "no_aufs no_zfs no_btrfs no_devmapper" "${@/%/@${mod#*@}}"
}
build_bins() {
  local kube=(kubelet kubeadm kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler) name todo=()
  # build-control-plane.sh's binaries (same version ldflags) are reused rather than linked again
  local cp_bin=$cache_root/controlplane/$KUBE_VERSION/bin
  for name in kube-apiserver kube-controller-manager kube-scheduler etcd; do
    if ! have "$name" && [ -x "$cp_bin/$name" ]; then cp "$cp_bin/$name" "$bin/$name"; fi
  done
  for name in "${kube[@]}"; do
    kube_current "$name" || todo+=("$name")
  done
  if [ "${#todo[@]}" -gt 0 ]; then
    say "building ${todo[*]} $KUBE_VERSION (shares the Go build cache with build-control-plane.sh)"
    (cd "$modules/kube" && CGO_ENABLED=0 timed "kubernetes $KUBE_VERSION" nice go build "${build_flags[@]}" -mod=readonly \
      -ldflags "$(kube_ldflags)" -o "$bin/" "${todo[@]/#/k8s.io/kubernetes/cmd/}")
  fi
  if ! have etcd; then
    (cd "$modules/etcd" && CGO_ENABLED=0 timed "etcd $ETCD_VERSION" nice go build "${build_flags[@]}" -mod=readonly \
      -ldflags "-s -w" -o "$bin/etcd" .)
  fi
  have containerd && have containerd-shim-runc-v2 && have ctr || LDX="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    timed "containerd $CONTAINERD_VERSION" go_install "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
    github.com/containerd/containerd/v2/cmd/ctr
  have crictl || LDX="-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    timed "crictl $CRICTL_VERSION" go_install "sigs.k8s.io/cri-tools@$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
  if ! { have bridge && have host-local && have loopback && have portmap; }; then
    timed "cni plugins $CNI_PLUGINS_VERSION" go_install "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" \
      github.com/containernetworking/plugins/plugins/main/bridge github.com/containernetworking/plugins/plugins/main/loopback \
      github.com/containernetworking/plugins/plugins/ipam/host-local github.com/containernetworking/plugins/plugins/meta/portmap
  fi
  local coredns_version
  coredns_version=$(kubeadm_image coredns | sed 's/.*://')
  have coredns || timed "coredns $coredns_version" go_install "github.com/coredns/coredns@$coredns_version" github.com/coredns/coredns
  have local-path-provisioner || timed "local-path-provisioner $LOCAL_PATH_VERSION" \
    go_install "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner
  if ! have pause; then
    local src pause_version
    src=$(cd "$modules/kube" && go list -mod=readonly -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
    pause_version=$(kubeadm_image pause | sed 's/.*://')
    gcc -Os -Wall -Werror -static -DVERSION="v$pause_version-qmc" -o "$bin/pause" "$src"
    strip "$bin/pause"
  fi
  say "binaries in $bin: $(du -sh "$bin" | cut -f1)"
}
kubeadm_image() {  # kubeadm_image <name>: the image reference kubeadm expects for <name>
  [ -x "$bin/kubeadm" ] || die "kubeadm not built yet (stage bins)"
  "$bin/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null | grep -E "/$1:" | head -1
}

# --- rootfs: Debian bookworm trees, cached as tarballs ----------------------------------------------------
build_rootfs() {
  local variant
  for variant in node minbase; do
    local out=$cache_root/kindnode/rootfs-bookworm-$variant.tar.gz
    if [ "$force" = 1 ] || [ ! -s "$out" ] || [ "$here/rootfs.sh" -nt "$out" ]; then
      timed "debootstrap bookworm ($variant)" nice "$here/rootfs.sh" "$variant" "$out"
    fi
    say "rootfs $variant: $(du -h "$out" | cut -f1)"
  done
}

# --- images: one single-layer image per component, saved as a docker archive -----------------------------
# make_image <ref> <base: scratch|minbase> <changes...> -- <src:dest ...>
make_image() {
  local ref=$1 base=$2 archive; shift 2
  local changes=() files=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do changes+=(-c "$1"); shift; done
  shift
  files=("$@")
  archive=$images/$(echo "$ref" | tr '/:' '__').tar
  if [ "$force" = 0 ] && [ -s "$archive" ] && docker image inspect "$ref" >/dev/null 2>&1; then return; fi
  local dir; dir=$(mktemp -d)
  if [ "$base" = minbase ]; then tar -C "$dir" -xzf "$cache_root/kindnode/rootfs-bookworm-minbase.tar.gz"; fi
  local f
  for f in "${files[@]}"; do
    mkdir -p "$dir/$(dirname "${f#*:}")"
    cp -a "${f%%:*}" "$dir/${f#*:}"
    copy_shared_libs "${f%%:*}" "$dir"
  done
  mkdir -p "$dir/tmp" "$dir/etc"; chmod 1777 "$dir/tmp"
  [ -e "$dir/etc/passwd" ] || printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$dir/etc/passwd"
  [ -e "$dir/etc/group" ] || printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
  tar -C "$dir" --numeric-owner -c . | docker import "${changes[@]}" - "$ref" >/dev/null
  rm -rf "$dir"
  docker save "$ref" -o "$archive.tmp" && mv "$archive.tmp" "$archive"
}
copy_shared_libs() {  # a Go binary built with cgo (build-control-plane.sh's) needs the host's glibc in its image
  local lib
  [ -f "$1" ] && file -b "$1" | grep -q 'dynamically linked' || return 0
  for lib in $(ldd "$1" | grep -oE '/[^ ]+'); do
    mkdir -p "$2/$(dirname "$lib")"
    cp -L "$lib" "$2/$lib"
  done
}
path_env='ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin'
build_images() {
  local ref name
  for name in kube-apiserver kube-controller-manager kube-scheduler; do
    ref=$(kubeadm_image "$name")
    make_image "$ref" scratch "$path_env" "ENTRYPOINT [\"/usr/local/bin/$name\"]" -- "$bin/$name:/usr/local/bin/$name"
  done
  ref=$(kubeadm_image kube-proxy)
  make_image "$ref" minbase "$path_env" 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]' -- "$bin/kube-proxy:/usr/local/bin/kube-proxy"
  ref=$(kubeadm_image etcd)
  make_image "$ref" scratch "$path_env" 'CMD ["/usr/local/bin/etcd"]' -- "$bin/etcd:/usr/local/bin/etcd"
  ref=$(kubeadm_image pause)
  make_image "$ref" scratch 'ENTRYPOINT ["/pause"]' 'USER 65535:65535' -- "$bin/pause:/pause"
  ref=$(kubeadm_image coredns)
  make_image "$ref" scratch 'ENTRYPOINT ["/coredns"]' 'EXPOSE 53 53/udp' -- "$bin/coredns:/coredns"
  make_image "quickmeet/local-path-provisioner:$LOCAL_PATH_VERSION" scratch "$path_env" \
    'ENTRYPOINT ["/usr/bin/local-path-provisioner"]' -- "$bin/local-path-provisioner:/usr/bin/local-path-provisioner"
  # local-path's helper pod runs its setup/teardown scripts with /bin/sh: a static busybox from Debian
  local bb; bb=$(mktemp -d); mkdir -p "$bb/bin"; cp "$(busybox_bin)" "$bb/bin/busybox"
  for name in sh mkdir rm rmdir ls cat sleep chmod chown mv cp; do ln -s busybox "$bb/bin/$name"; done
  make_image "quickmeet/local-path-helper:bookworm" scratch "$path_env" -- "$bb/.:/."
  rm -rf "$bb"
  say "component images in $images: $(du -sh "$images" | cut -f1)"
}
busybox_bin() {
  [ -x /bin/busybox ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; }
  echo /bin/busybox
}

# --- node: base image from the rootfs + kind's files, then preload the images into its containerd ----------
inputs_hash() {
  { echo "$KUBE_VERSION $ETCD_VERSION $KIND_VERSION $CONTAINERD_VERSION $CRICTL_VERSION $CNI_PLUGINS_VERSION $LOCAL_PATH_VERSION"
    cat "$0" "$here"/*; sha256sum "$images"/*.tar "$cache_root"/kindnode/rootfs-bookworm-node.tar.gz | cut -d' ' -f1
  } | sha256sum | cut -c1-16
}
build_node() {
  local hash kind
  hash=$(inputs_hash)
  if [ "$force" = 0 ] && [ "$(docker image inspect -f '{{index .Config.Labels "quickmeet.inputs"}}' "$image" 2>/dev/null)" = "$hash" ]; then
    say "$image is up to date (inputs $hash)"; return
  fi
  kind=$(kind_dir); [ -d "$kind/images/base/files" ] || die "kind $KIND_VERSION module not found in the Go module cache"
  local base=quickmeet/kind-node-base:$KUBE_VERSION
  timed "import node rootfs" sh -c "gunzip -c '$cache_root/kindnode/rootfs-bookworm-node.tar.gz' | docker import - '$base' >/dev/null"
  container=qmc-kind-node-build-$$  # global: the EXIT trap removes it
  trap 'docker rm -f -v "${container:-}" >/dev/null 2>&1 || true' EXIT
  docker run -d --name "$container" --privileged --entrypoint /bin/sleep "$base" infinity >/dev/null
  local stage; stage=$(mktemp -d)
  # kind's base-image files (images/base/Dockerfile: COPY --chmod ... files/...)
  cp -a "$kind/images/base/files/." "$stage/"
  chmod -R u+w "$stage"
  mkdir -p "$stage/usr/bin" "$stage/usr/local/bin" "$stage/opt/cni/bin" "$stage/etc/cni/net.d" "$stage/kind/manifests"
  cp "$bin"/{kubelet,kubeadm,kubectl} "$stage/usr/bin/"
  cp "$bin"/{containerd,containerd-shim-runc-v2,ctr,crictl} "$stage/usr/local/bin/"
  cp "$bin"/{bridge,host-local,loopback,portmap} "$stage/opt/cni/bin/"
  cp "$here/containerd-config.toml" "$stage/etc/containerd/config.toml"
  sed -i "s|@PAUSE_IMAGE@|$(kubeadm_image pause)|" "$stage/etc/containerd/config.toml"
  cp "$here/10-qmc-bridge.conflist" "$stage/etc/cni/net.d/"
  cp "$here/default-cni.yaml" "$stage/kind/manifests/default-cni.yaml"
  storage_manifest "$kind" >"$stage/kind/manifests/default-storage.yaml"
  echo -n "$KUBE_VERSION" >"$stage/kind/version"
  tar -C "$stage" --owner=0 --group=0 -c . | docker cp - "$container:/"
  rm -rf "$stage"
  # images/base/Dockerfile RUN steps, then kind's node-image build steps
  docker exec "$container" bash -euc '
    chmod 755 /kind /kind/bin /kind/bin/* /usr/local/bin/* /usr/bin/kube* /opt/cni/bin/*
    find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
    rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
    echo "ReadKMsg=no" >>/etc/systemd/journald.conf
    ln -sf /usr/lib/systemd/systemd /sbin/init
    systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
    systemctl mask systemd-binfmt.service >/dev/null 2>&1
    mkdir -p /etc/kubernetes/manifests /var/lib/containerd
    ctr oci spec | jq ".hooks.createContainer[.hooks.createContainer|length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" \
      | jq "del(.process.rlimits)" >/etc/containerd/cri-base.json
    containerd --version; runc --version | head -1; kubelet --version'
  # preload: containerd in the build container imports every component image (kind's imageimporter.go)
  docker exec "$container" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  docker exec "$container" bash -c 'for i in $(seq 60); do ctr info >/dev/null 2>&1 && exit 0; sleep 0.5; done; tail /tmp/containerd.log; exit 1'
  local archive
  for archive in "$images"/*.tar; do
    docker exec -i "$container" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
      --all-platforms --no-unpack --digests - <"$archive" >/dev/null
  done
  docker exec "$container" bash -c 'ctr --namespace=k8s.io images list -q | grep -v "^sha256:"; pkill containerd; for i in $(seq 40); do ps -o stat= -C containerd | grep -qv Z || exit 0; sleep 0.5; done; exit 1'
  docker exec "$container" rm -rf /tmp/containerd.log /var/lib/containerd/tmpmounts
  timed "commit $image" docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' --change 'CMD []' \
    --change 'ENV container=docker' \
    --change "LABEL quickmeet.inputs=$hash" "$container" "$image" >/dev/null
  docker rm -f -v "$container" >/dev/null; trap - EXIT
  docker rmi "$base" >/dev/null 2>&1 || true
  say "$image: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
}
storage_manifest() {  # kind's default-storage manifest (pkg/build/nodeimage/const_storage.go), our images
  awk '/^const defaultStorageManifest = `/{on=1; next} on && /^`/{exit} on' "$1/pkg/build/nodeimage/const_storage.go" \
    | sed -e "s|\` + storageProvisionerImage + \`|quickmeet/local-path-provisioner:$LOCAL_PATH_VERSION|" \
          -e "s|\` + storageHelperImage + \`|quickmeet/local-path-helper:bookworm|"
}

t0=$(date +%s)
for stage in "${stages[@]}"; do "build_$stage"; done
say "done in $(( $(date +%s) - t0 ))s"

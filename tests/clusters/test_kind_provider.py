"""The kind provider with stand-in kind/kubectl/docker scripts that record what they were asked to do: which
image and config a cluster is created with, what is deleted, and the one line each fault gives. The real
cluster is exercised by tests/kind/test_kind_cluster.py."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from quickmeet_conformance.clusters import owner_files
from quickmeet_conformance.clusters.docker import Docker
from quickmeet_conformance.clusters.image_source import LOCAL_NODE_IMAGE, NODE_IMAGE, resolve_images
from quickmeet_conformance.clusters.providers import kind as kind_module
from quickmeet_conformance.clusters.providers.kind import KindClusterProvider
from quickmeet_conformance.errors import ToolError


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


class FakeKube:
    """Stands in for the waiter's KubeClient: records the objects it is asked to create."""

    def create_missing(self, bodies: list[dict]) -> list[str]:
        FakeWaiter.calls.extend(f"create {b['kind']}/{b['metadata']['name']}" for b in bodies)
        return []


class FakeWaiter:
    """Stands in for ClusterWaiter (the kubernetes client needs a real API server)."""

    calls: list[str] = []

    def __init__(self, kubeconfig: Path, context: str, *, where: str) -> None:
        FakeWaiter.calls.append(f"waiter {context}")
        self.kube = FakeKube()

    def close(self) -> None:
        FakeWaiter.calls.append("close")

    def wait_ready(self, timeout: float) -> None:
        FakeWaiter.calls.append("wait_ready")

    def wait_pods_ready(self, namespace: str, selector: str, timeout: float) -> None:
        FakeWaiter.calls.append(f"pods_ready {namespace} {selector}")

    def server_version(self) -> str:
        return "v1.37.2"


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    log = tmp_path / "calls.log"
    state = tmp_path / "clusters"
    images = tmp_path / "images"
    images.write_text(LOCAL_NODE_IMAGE + "\n")
    kind = _script(
        tmp_path / "kind",
        f"""
echo "kind $* network=$KIND_EXPERIMENTAL_DOCKER_NETWORK" >> {log}
case "$1" in
  get) cat {state} 2>/dev/null; exit 0 ;;
  create) [ -n "$FAIL_CREATE" ] && {{ echo 'ERROR: failed to create cluster: node(s) never became ready' >&2; exit 1; }}
          for a in "$@"; do case "$a" in --name=*) echo "${{a#--name=}}" >> {state};;
            --kubeconfig=*) echo "apiVersion: v1" > "${{a#--kubeconfig=}}";;
            --config=*) cp "${{a#--config=}}" {tmp_path}/last-config.yaml;; esac; done ;;
  export) ;;
  delete) for a in "$@"; do case "$a" in
            --name=*) grep -vx "${{a#--name=}}" {state} > {state}.new; mv {state}.new {state};; esac; done ;;
esac
""",
    )
    kubectl = _script(
        tmp_path / "kubectl",
        f"""
echo "kubectl $*" >> {log}
for a in "$@"; do [ "$a" = version ] && echo '{json.dumps({"serverVersion": {"gitVersion": "v1.37.0"}})}'; done
exit 0
""",
    )
    docker = _script(
        tmp_path / "docker",
        f"""
echo "docker $*" >> {log}
case "$1" in
  info) down='Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'
        [ -n "$DOCKER_DOWN" ] && {{ echo "$down" >&2; exit 1; }}
        echo 20.10.24 ;;
  image) grep -qxF "${{@: -1}}" {images} ;;
  port) echo 127.0.0.1:40080 ;;
  network) [ "$2" = ls ] && echo 0123abcd ;;
  *) exit 0 ;;
esac
""",
    )
    FakeWaiter.calls = []
    monkeypatch.setattr(kind_module, "ClusterWaiter", FakeWaiter)
    monkeypatch.setattr(owner_files, "OWNERS_DIR", tmp_path / "owners")
    monkeypatch.setattr(
        KindClusterProvider,
        "_install_local_ingress",
        lambda self, waiter: FakeWaiter.calls.append(f"local ingress {self.name}"),
    )
    monkeypatch.delenv("QMC_KIND_IMAGES", raising=False)
    return {
        "kind": kind,
        "kubectl": kubectl,
        "docker": docker,
        "log": log,
        "state": state,
        "dir": tmp_path,
        "images": images,
    }


def _provider(fakes: dict[str, Path], name: str, **kwargs) -> KindClusterProvider:
    return KindClusterProvider(
        name,
        kind_bin=fakes["kind"],
        kubectl=fakes["kubectl"],
        workdir=fakes["dir"],
        docker=Docker(str(fakes["docker"])),
        **kwargs,
    )


def _calls(fakes: dict[str, Path]) -> list[str]:
    return fakes["log"].read_text().splitlines()


def test_local_images_create_a_cluster_on_its_own_network_and_delete_everything(fakes):
    provider = _provider(fakes, "qmc-a", images="local")
    handle = provider.start()
    assert handle.provider == "kind" and handle.kube_version == "v1.37.2" and handle.context == "kind-qmc-a"
    create = next(c for c in _calls(fakes) if c.startswith("kind create"))
    assert f"--image={LOCAL_NODE_IMAGE}" in create and "--config=" in create, create
    assert "network=qmc-a-net" in create, "each cluster gets a docker network of its own"
    config = (fakes["dir"] / "last-config.yaml").read_text()
    assert "failCgroupV1: false" in config, "kubelet >= 1.35 refuses the host's cgroup v1 without it"
    assert f"hostPort: {provider.http_port}, listenAddress: 127.0.0.1" in config
    assert "wait_ready" in FakeWaiter.calls and "local ingress qmc-a" in FakeWaiter.calls
    assert (owner_files.OWNERS_DIR / "qmc-a.pid").read_text().strip() == str(os.getpid())
    provider.stop()
    assert any(c.startswith("kind delete cluster --name=qmc-a") for c in _calls(fakes))
    assert "docker network rm qmc-a-net" in _calls(fakes), "the cluster's own network goes with it"
    assert not (owner_files.OWNERS_DIR / "qmc-a.pid").exists()
    assert fakes["state"].read_text().split() == []
    assert not (fakes["dir"] / ".pytest-kind").exists(), "the deleted cluster's kubeconfig is left behind"


def test_upstream_images_use_the_pinned_kind_image_and_ingress_nginx(fakes):
    manifest = fakes["dir"] / "ingress-nginx-deploy.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ingress-nginx}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ingress-nginx-controller, namespace: ingress-nginx}\n"
    )
    provider = _provider(fakes, "qmc-b", images="upstream", ingress_manifest=str(manifest))
    provider.start()
    create = next(c for c in _calls(fakes) if c.startswith("kind create"))
    assert f"--image={NODE_IMAGE}" in create and "@sha256:" in NODE_IMAGE
    assert "ingress-nginx" in kind_module.INGRESS_NGINX_MANIFEST
    assert [c for c in FakeWaiter.calls if c.startswith("create ")] == [
        "create Namespace/ingress-nginx",
        "create Deployment/ingress-nginx-controller",
    ], "the manifest's objects are created through the cluster's client, in order"
    assert "pods_ready ingress-nginx app.kubernetes.io/component=controller" in FakeWaiter.calls
    provider.stop()


def test_auto_chooses_local_when_the_local_node_image_exists(fakes):
    docker = Docker(str(fakes["docker"]))
    assert resolve_images(None, docker).source == "local"
    fakes["images"].write_text("")
    assert resolve_images("auto", docker).source == "upstream"
    assert resolve_images("local", docker).node_image == LOCAL_NODE_IMAGE


def test_an_unknown_image_source_is_one_line(fakes):
    with pytest.raises(
        ToolError, match=r"--kind-images 'mirror': not a choice \(use one of auto, local, upstream, airgap\)"
    ):
        resolve_images("mirror", Docker(str(fakes["docker"])))


def test_reuses_an_existing_cluster_and_never_deletes_it(fakes):
    fakes["state"].write_text("qmc-c\n")
    provider = _provider(fakes, "qmc-c", images="local")
    provider.start()
    assert (provider.http_port, provider.https_port) == (40080, 40080), "ports read back from docker port"
    provider.stop()
    assert not any(c.startswith("kind create") for c in _calls(fakes))
    assert not any(c.startswith("kind delete") for c in _calls(fakes))


def test_keep_cluster_keeps_what_it_created(fakes):
    provider = _provider(fakes, "qmc-d", images="local", keep=True)
    provider.start()
    provider.stop()
    assert not any(c.startswith("kind delete") for c in _calls(fakes))
    assert (fakes["dir"] / ".pytest-kind" / "qmc-d").is_dir(), "a kept cluster keeps its kubeconfig"


def test_dockerd_not_running_is_one_line_naming_the_setup_script(fakes, monkeypatch):
    monkeypatch.setenv("DOCKER_DOWN", "1")
    provider = _provider(fakes, "qmc-e", images="local")
    with pytest.raises(ToolError) as caught:
        provider.start()
    line = str(caught.value)
    assert "\n" not in line and "dockerd is not running" in line and "scripts/setup-docker.sh" in line, line
    assert not any(c.startswith("kind create") for c in _calls(fakes))


def test_missing_local_node_image_is_one_line_naming_the_build_script(fakes):
    fakes["images"].write_text("")
    provider = _provider(fakes, "qmc-f", images="local")
    with pytest.raises(ToolError) as caught:
        provider.start()
    line = str(caught.value)
    assert "\n" not in line and f"kind node image {LOCAL_NODE_IMAGE} not found" in line
    assert "scripts/build-kind-node-image.sh" in line and "--kind-images upstream" in line, line


def test_a_failed_create_is_one_line_and_leaves_nothing(fakes, monkeypatch):
    monkeypatch.setenv("FAIL_CREATE", "1")
    provider = _provider(fakes, "qmc-g", images="local")
    with pytest.raises(ToolError) as caught:
        with provider:
            pass
    line = str(caught.value)
    assert "\n" not in line and "kind create cluster failed: ERROR: failed to create cluster" in line, line
    assert any(c.startswith("kind delete cluster --name=qmc-g") for c in _calls(fakes)), (
        "a half-made cluster goes"
    )
    assert not (owner_files.OWNERS_DIR / "qmc-g.pid").exists()


def test_clusters_of_dead_runs_are_reaped(fakes):
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner_files.OWNERS_DIR.mkdir(parents=True)
    (owner_files.OWNERS_DIR / "qmc-orphan.pid").write_text(f"{dead.pid}\n")
    (owner_files.OWNERS_DIR / "qmc-alive.pid").write_text(f"{os.getpid()}\n")
    fakes["state"].write_text("qmc-orphan\nqmc-alive\n")
    provider = _provider(fakes, "qmc-h", images="local")
    assert provider.reap_orphans() == ["qmc-orphan"]
    assert fakes["state"].read_text().split() == ["qmc-alive"]
    assert (owner_files.OWNERS_DIR / "qmc-alive.pid").exists()


def test_every_step_is_bounded(fakes, tmp_path):
    slow = _script(tmp_path / "slow-kind", "sleep 30\n")
    provider = _provider(fakes, "qmc-i", images="local")
    with pytest.raises(ToolError, match="took more than"):
        provider._run([str(slow)], "kind get clusters", 1)


def test_missing_kind_names_the_install_script(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QMC_KIND", raising=False)
    monkeypatch.setattr("quickmeet_conformance.clusters.providers.kind.REPO_TOOLS_BIN", tmp_path)
    provider = KindClusterProvider("qmc-j", kind_bin=tmp_path / "nope", workdir=tmp_path, images="upstream")
    with pytest.raises(ToolError, match="install-kind.sh"):
        provider.start()

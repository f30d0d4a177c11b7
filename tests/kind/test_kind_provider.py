"""The kind provider, exercised here with the real kind binary (up to the missing container engine) and
with stand-in kind/kubectl scripts that record what they were asked to do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from quickmeet_conformance.clusters.kind import NODE_IMAGE, KindClusterProvider
from quickmeet_conformance.errors import ToolError

REPO = Path(__file__).resolve().parents[2]
REAL_KIND = REPO / ".tools" / "bin" / "kind"


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, Path]:
    log = tmp_path / "calls.log"
    state = tmp_path / "clusters"
    kind = _script(tmp_path / "kind", f"""
echo "kind $*" >> {log}
case "$1" in
  get) cat {state} 2>/dev/null; exit 0 ;;
  create) for a in "$@"; do case "$a" in --name=*) echo "${{a#--name=}}" >> {state};; --kubeconfig=*) echo "apiVersion: v1" > "${{a#--kubeconfig=}}";; esac; done ;;
  export) ;;
  delete) : > {state} ;;
esac
""")
    kubectl = _script(tmp_path / "kubectl", f"""
echo "kubectl $*" >> {log}
for a in "$@"; do [ "$a" = version ] && echo '{json.dumps({"serverVersion": {"gitVersion": "v1.37.0"}})}'; done
exit 0
""")
    return {"kind": kind, "kubectl": kubectl, "log": log, "state": state, "dir": tmp_path}


def _calls(fakes) -> list[str]:
    return fakes["log"].read_text().splitlines()


def test_creates_a_pinned_cluster_with_an_ingress_controller_and_deletes_it(fakes):
    provider = KindClusterProvider("qmc-a", kind_bin=fakes["kind"], kubectl=fakes["kubectl"], workdir=fakes["dir"])
    handle = provider.start()
    assert handle.provider == "kind" and handle.kube_version == "v1.37.0" and handle.context == "kind-qmc-a"
    create = next(c for c in _calls(fakes) if c.startswith("kind create"))
    assert f"--image={NODE_IMAGE}" in create and "--wait=180s" in create and "--config=" in create
    assert "@sha256:" in NODE_IMAGE, "the node image must be pinned by digest"
    assert any("apply -f" in c and "ingress-nginx" in c for c in _calls(fakes))
    assert any("wait --namespace ingress-nginx" in c for c in _calls(fakes))
    provider.stop()
    assert any(c.startswith("kind delete cluster --name=qmc-a") for c in _calls(fakes))


def test_reuses_an_existing_cluster_and_never_deletes_it(fakes):
    fakes["state"].write_text("qmc-b\n")
    provider = KindClusterProvider("qmc-b", kind_bin=fakes["kind"], kubectl=fakes["kubectl"], workdir=fakes["dir"])
    provider.start()
    provider.stop()
    assert not any(c.startswith("kind create") for c in _calls(fakes))
    assert not any(c.startswith("kind delete") for c in _calls(fakes))


def test_keep_cluster_keeps_what_it_created(fakes):
    provider = KindClusterProvider("qmc-c", kind_bin=fakes["kind"], kubectl=fakes["kubectl"], workdir=fakes["dir"],
                                   keep=True)
    provider.start()
    provider.stop()
    assert not any(c.startswith("kind delete") for c in _calls(fakes))


def test_every_step_is_bounded(fakes, tmp_path):
    slow = _script(tmp_path / "slow-kind", "sleep 30\n")
    provider = KindClusterProvider("qmc-d", kind_bin=slow, kubectl=fakes["kubectl"], workdir=tmp_path)
    with pytest.raises(ToolError, match="took more than"):
        provider._run([str(slow)], "kind get clusters", 1)


def test_real_kind_stops_with_one_clear_line_without_a_container_engine(tmp_path):
    if not REAL_KIND.exists():
        pytest.fail("kind is not built: run scripts/install-kind.sh", pytrace=False)
    if os.path.exists("/var/run/docker.sock") and os.access("/var/run/docker.sock", os.W_OK):
        pytest.skip("a container engine is reachable here: the kind lane itself covers this machine")
    provider = KindClusterProvider("qmc-e", kind_bin=REAL_KIND, workdir=tmp_path, create_timeout_s=120)
    with pytest.raises(ToolError) as caught:
        provider.start()
    line = str(caught.value)
    assert "\n" not in line and "container engine" in line and "--cluster kwok" in line
    provider.stop()  # nothing was created: nothing to delete, and no error


def test_missing_kind_names_the_install_script(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("QMC_KIND", raising=False)
    provider = KindClusterProvider("qmc-f", kind_bin=tmp_path / "nope", workdir=tmp_path)
    monkeypatch.setattr("quickmeet_conformance.clusters.kind.REPO_TOOLS_BIN", tmp_path)
    with pytest.raises(ToolError, match="install-kind.sh"):
        provider.start()

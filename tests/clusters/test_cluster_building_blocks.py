"""Fast tests (no cluster): certificates, kubeconfigs, ports, process handling, clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from waits import eventually

from quickmeet_conformance.clusters.base import REPO_ROOT
from quickmeet_conformance.clusters.pki import (
    KeyPair,
    issue_certificate,
    new_certificate_authority,
    write_kubeconfig,
)
from quickmeet_conformance.clusters.processes import (
    ManagedProcess,
    free_loopback_port,
    free_loopback_ports,
    wait_for,
)
from quickmeet_conformance.clusters.providers.existing import ExistingClusterProvider
from quickmeet_conformance.clusters.providers.kwok import KwokClusterProvider
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.subprocesses import run


def openssl_text(cert: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return new_certificate_authority(tmp_path_factory.mktemp("pki"), "test-ca")


def test_serving_certificate_chains_to_the_ca_and_has_the_sans(ca: KeyPair, tmp_path: Path) -> None:
    serving = issue_certificate(
        ca, tmp_path, "apiserver", common_name="kube-apiserver", server=True,
        dns_names=["localhost", "kubernetes.default.svc"], ip_addresses=["127.0.0.1", "10.96.0.1"],
    )  # fmt: skip  # related arguments kept on one line
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca.cert), str(serving.cert)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert verify.returncode == 0, f"serving cert does not chain to the CA: {verify.stdout}{verify.stderr}"
    text = openssl_text(serving.cert)
    for san in (
        "DNS:localhost",
        "DNS:kubernetes.default.svc",
        "IP Address:127.0.0.1",
        "IP Address:10.96.0.1",
    ):
        assert san in text, f"SAN {san} missing from the serving certificate"
    assert "TLS Web Server Authentication" in text
    assert oct(serving.key.stat().st_mode & 0o777) == "0o600", "private keys must not be world-readable"


def test_client_certificate_carries_user_and_groups(ca: KeyPair, tmp_path: Path) -> None:
    admin = issue_certificate(
        ca, tmp_path, "admin", common_name="kubernetes-admin", organizations=["system:masters"], client=True
    )
    text = openssl_text(admin.cert)
    assert "O = system:masters, CN = kubernetes-admin" in text, (
        "Kubernetes reads groups from O and the user from CN"
    )
    assert "TLS Web Client Authentication" in text
    assert "TLS Web Server Authentication" not in text


def test_a_certificate_needs_a_usage(ca: KeyPair, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        issue_certificate(ca, tmp_path, "useless", common_name="nobody")


def test_kubeconfig_with_client_certificate_is_self_contained(ca: KeyPair, tmp_path: Path) -> None:
    client = issue_certificate(ca, tmp_path, "scheduler", common_name="system:kube-scheduler", client=True)
    path = write_kubeconfig(
        tmp_path / "scheduler.kubeconfig", cluster="c1", server="https://127.0.0.1:6443",
        ca_cert=ca.cert, user="scheduler", client=client,
    )  # fmt: skip  # related arguments kept on one line
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "c1"
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    user = config["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    assert config["contexts"][0]["context"] == {"cluster": "c1", "user": "scheduler"}


def test_kubeconfig_with_token(ca: KeyPair, tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "ro.kubeconfig",
        cluster="c1",
        server="https://127.0.0.1:6443",
        ca_cert=ca.cert,
        user="ro",
        token="t0k",
    )
    assert yaml.safe_load(path.read_text())["users"][0]["user"] == {"token": "t0k"}
    with pytest.raises(ValueError):
        write_kubeconfig(tmp_path / "bad", cluster="c", server="https://x", ca_cert=ca.cert, user="u")


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_loopback_ports(5)
    assert len(set(ports)) == 5, f"ports repeat: {ports}"
    for port in [*ports, free_loopback_port()]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_missing_binaries_name_the_build_script(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    provider = KwokClusterProvider(workdir=workdir, binaries_dir=tmp_path / "empty")
    with pytest.raises(ToolError) as raised:
        provider.start()
    message = str(raised.value)
    assert "scripts/build-control-plane.sh" in message, message
    assert "kube-apiserver" in message and "\n" not in message, message
    assert not workdir.exists() and provider.pids() == [], "nothing may be started when binaries are missing"


def test_wait_stops_early_with_the_process_log(tmp_path: Path) -> None:
    crashing = ManagedProcess(
        "crasher", ["sh", "-c", "echo listen failed: address in use; exit 3"], tmp_path / "c.log"
    )
    crashing.start()
    started = time.monotonic()
    with pytest.raises(ToolError) as raised:
        wait_for("crasher serving", lambda: False, timeout=30, failure=crashing.failure)
    assert time.monotonic() - started < 10, "a dead process must end the wait at once, not at the deadline"
    assert "crasher exited with status 3" in str(raised.value)
    assert "address in use" in str(raised.value)


def test_wait_times_out_with_the_last_error() -> None:
    def not_yet() -> bool:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ToolError, match="not ready after 0.5s; last error: ConnectionRefusedError"):
        wait_for("server", not_yet, timeout=0.5, interval=0.1)


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # A child that ignores SIGTERM and has its own child: stop() must still leave nothing behind.
    process = ManagedProcess("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"], tmp_path / "s.log")
    process.start()
    assert process.pid is not None
    wait_for(  # sh has forked its child: stop() must end a group of two
        "sh forks its sleep", lambda: len(live_group_members(process.pid)) >= 2, timeout=10, interval=0.02
    )
    process.stop(timeout=0.5)
    process.stop()  # idempotent
    assert live_group_members(process.pid) == [], "processes of the group survived stop()"


def live_group_members(pgid: int) -> list[int]:
    """Non-zombie processes in process group ``pgid`` (a killed orphan may linger as a zombie)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_an_interrupted_child_run_gets_to_clean_up(tmp_path: Path) -> None:
    """A timeout (or Ctrl-C) in the caller sends the child SIGTERM and waits for its teardown, where
    subprocess.run would SIGKILL it and leave its cluster's temp dirs behind."""
    marker = tmp_path / "cleaned-up"
    child = (
        "import signal, sys, time\n"
        "def bye(*_):\n"
        f"    open({str(marker)!r}, 'w').write('yes')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        run([sys.executable, "-c", child], timeout_s=1.5, grace_s=10)
    assert marker.exists(), "the child was not given SIGTERM and time to clean up"
    done = run(
        [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], timeout_s=10, input="echo"
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ECHO")


def test_existing_cluster_unreachable_is_one_line(tmp_path: Path) -> None:
    ca = new_certificate_authority(tmp_path / "pki", "nobody")
    config = write_kubeconfig(
        tmp_path / "kubeconfig", cluster="gone", server=f"https://127.0.0.1:{free_loopback_port()}",
        ca_cert=ca.cert, user="u", token="t",
    )  # fmt: skip  # related arguments kept on one line
    provider = ExistingClusterProvider(config, "gone", timeout_s=5)
    started = time.monotonic()
    with pytest.raises(ToolError) as raised:
        provider.start()
    assert time.monotonic() - started < 15
    assert "cluster unreachable" in str(raised.value) and "\n" not in str(raised.value), str(raised.value)
    provider.stop()  # never touches a cluster it did not create
    assert config.exists()


def test_existing_cluster_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="kubeconfig not found"):
        ExistingClusterProvider(tmp_path / "nope").start()


def test_children_die_when_the_runner_is_killed(tmp_path: Path) -> None:
    """SIGKILL to the runner skips every handler; the kernel (PR_SET_PDEATHSIG) must still end its children."""
    script = (
        "import sys; from pathlib import Path; from quickmeet_conformance.clusters.processes import ManagedProcess\n"
        f"p = ManagedProcess('sleeper', ['sleep', '300'], Path({str(tmp_path / 'sleeper.log')!r})); p.start()\n"
        "print(p.pid, flush=True); sys.stdin.read()\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    assert live_group_members(child) == [child]
    runner.kill()
    runner.wait(timeout=10)
    eventually("the orphan dies with its runner", lambda: not live_group_members(child), timeout=10)
    assert live_group_members(child) == [], f"child {child} outlived its SIGKILLed runner"

"""Fixtures for the stand-in image tests: real nats-server and the stand-in program on 127.0.0.1, started
with the probe self-tests' peer launcher (tests/probes/probe_peers.py) and stopped by PID."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes"))  # one peer launcher: probe_peers

import probe_peers as peers


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("standins")


@pytest.fixture(scope="module")
def nats_url(log_dir: Path) -> Iterator[str]:
    """A real nats-server (Debian's) on a free loopback port."""
    server, url = peers.start_nats(log_dir)
    try:
        yield url
    finally:
        server.stop()


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def mongodb(log_dir: Path) -> Iterator[str]:
    """FerretDB (scripts/build-ferretdb.sh; skipped when not built) as the stand-ins' MongoDB, started by
    the stand-in program from the bitnami environment, as the MongoDB image starts it."""
    from standin_peers import MONGO, start_standin

    binary = subprocess.run(
        [str(REPO / "scripts" / "build-ferretdb.sh"), "--print-path"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not binary or not Path(binary).is_file():
        pytest.skip("FerretDB is not built (scripts/build-ferretdb.sh): the stand-ins need a MongoDB")
    port = peers.free_port()
    env = {
        "QMC_FERRETDB": binary,
        "QMC_FERRETDB_DEBUG_ADDR": f"127.0.0.1:{peers.free_port()}",
        "MONGODB_DATA_DIR": str(log_dir / "mongodb"),
        "MONGODB_PORT_NUMBER": str(port),
        "MONGODB_REPLICA_SET_MODE": "primary",
        "MONGODB_REPLICA_SET_NAME": "rs0",
        "MONGODB_ADVERTISED_HOSTNAME": "127.0.0.1",
        "MONGODB_ROOT_PASSWORD": "root-test",
        "MONGODB_EXTRA_USERNAMES": "rocketchat",
        "MONGODB_EXTRA_PASSWORDS": "rc-test",
        "MONGODB_EXTRA_DATABASES": "rocketchat",
        "QMC_TERMINATION_LOG": str(log_dir / "mongodb.termination"),
    }
    server = start_standin("mongodb", log_dir, env, wait_for="ferretdb", name="ferretdb")
    MONGO["url"] = f"mongodb://rocketchat:rc-test@127.0.0.1:{port}/rocketchat?replicaSet=rs0"
    try:
        yield MONGO["url"]
    finally:
        MONGO["url"] = ""
        peers.stop_all([server])

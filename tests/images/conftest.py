"""Fixtures for the stand-in image tests: real nats-server and the stand-in program on 127.0.0.1, started
with the probe self-tests' peer launcher (tests/probes/probe_peers.py) and stopped by PID."""

from __future__ import annotations

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

"""Fixtures for the probe self-tests: real nats-server, Moleculer brokers, DDP servers and nginx on
127.0.0.1, each started here and stopped here by PID.

Buses are module-scoped and probed once per scenario: the observations are shared by the tests that
assert on them (each test asserts one rule, passing or failing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import probe_peers as peers
import pytest
from probe_scenarios import Bus, healthy_specs, run_bus


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("peers")


@pytest.fixture(scope="module")
def healthy_bus(log_dir: Path) -> Iterator[Bus]:
    yield from run_bus(log_dir, healthy_specs(), keep_running=True)


# --------------------------------------------------------------------------------------------- DDP side


@dataclass(frozen=True)
class DdpUpstreams:
    ddp_streamer: str  # host:port
    monolith: str


@pytest.fixture(scope="module")
def ddp_upstreams(log_dir: Path) -> Iterator[DdpUpstreams]:
    # SockJS heartbeats every 50 ms so the probe must skip "h" frames mid-handshake.
    streamer, streamer_addr = peers.start_ddp_server("ddp-streamer", log_dir, sockjs_heartbeat=0.05)
    try:
        monolith, monolith_addr = peers.start_ddp_server("monolith", log_dir, sockjs_heartbeat=0.05)
    except BaseException:
        streamer.stop()
        raise
    try:
        yield DdpUpstreams(streamer_addr, monolith_addr)
    finally:
        peers.stop_all([streamer, monolith])

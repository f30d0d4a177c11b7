"""The NATS server configuration as the lane reads it, and the real nats-server judging credentials."""

from __future__ import annotations

import pytest

from quickmeet_conformance.connections import nats_config, nats_judge, nats_url
from quickmeet_conformance.connections.model import NotJudged

SUBCHART_CONF = """# NATS Clients Port
port: 4222
pid_file: "/var/run/nats/nats.pid"
http: 8222
server_name:$POD_NAME
cluster {
  port: 6222
  routes = [
    nats://rocketchat-nats-0.rocketchat-nats.default.svc.cluster.local:6222,
  ]
  cluster_advertise: $CLUSTER_ADVERTISE
  connect_retries: 120
}
lame_duck_grace_period: 10s
"""
USERS = """
authorization {
  users: [
    {"password":"nats-s3cret","user":"rocketchat"},
  ]
}
"""
TOKEN = 'authorization {\n  token: "t0ken-value"\n}\n'
ACCOUNTS = """accounts: {
  RC: { users: [ {user: rc, password: "acc-pass"} ] }
}
"""


def test_top_level_entries_and_features() -> None:
    keys = [e.key for e in nats_config.top_level_entries(SUBCHART_CONF + USERS)]
    assert keys == [
        "port",
        "pid_file",
        "http",
        "server_name",
        "cluster",
        "lame_duck_grace_period",
        "authorization",
    ]
    assert nats_config.features(SUBCHART_CONF) == ()
    assert nats_config.features(SUBCHART_CONF + USERS) == ("authorization",)
    assert nats_config.features(ACCOUNTS) == ("accounts",)
    assert "tls" in nats_config.features(SUBCHART_CONF + 'tls {\n  cert_file: "/etc/nats-certs/tls.crt"\n}\n')


def test_local_config_keeps_auth_and_drops_the_pod() -> None:
    local = nats_config.local_config(SUBCHART_CONF + USERS, 5555)
    assert "authorization" in local and "nats-s3cret" in local
    for gone in ("cluster", "pid_file", "http:", "server_name", "6222"):
        assert gone not in local
    assert local.rstrip().endswith("listen: 127.0.0.1:5555")
    assert nats_config.env_references(SUBCHART_CONF) == ("CLUSTER_ADVERTISE", "POD_NAME")


def _server_or_skip() -> None:
    if nats_judge.find_nats_server() is None:
        pytest.skip("nats-server not installed (scripts/install-probe-tools.sh)")
    pytest.importorskip("nats")


@pytest.mark.parametrize(
    "conf,url,accepted",
    [
        (USERS, "nats://rocketchat-nats:4222", False),
        (USERS, "nats://rocketchat:nats-s3cret@rocketchat-nats:4222", True),
        (USERS, "nats://rocketchat:wrong@rocketchat-nats:4222", False),
        (TOKEN, "nats://t0ken-value@rocketchat-nats:4222", True),
        (TOKEN, "nats://other@rocketchat-nats:4222", False),
        (ACCOUNTS, "nats://rc:acc-pass@rocketchat-nats:4222", True),
        (ACCOUNTS, "nats://rocketchat-nats:4222", False),
    ],
)
def test_real_server_judges_credentials(conf: str, url: str, accepted: bool) -> None:
    _server_or_skip()
    (verdict,) = nats_judge.judge(SUBCHART_CONF + conf, [nats_url.read(url)])
    assert verdict.accepted is accepted, verdict
    if not accepted:
        assert "Authorization Violation" in verdict.detail


def test_a_configuration_the_server_refuses_is_not_judged() -> None:
    _server_or_skip()
    with pytest.raises(NotJudged, match="refused the rendered configuration"):
        nats_judge.judge("authorization { users: [ {user: a password: } ] }\nnot_a_key_at_all: {{{\n", [])


def test_no_server_binary_is_not_judged(monkeypatch) -> None:
    monkeypatch.setattr(nats_judge, "find_nats_server", lambda: None)
    with pytest.raises(NotJudged, match="nats-server not found"):
        nats_judge.judge(USERS, [nats_url.read("nats://h:4222")])

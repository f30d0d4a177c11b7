"""The URL readers of connections/: MongoDB strings through pymongo (never the network), NATS URLs by the
rules nats-py applies (checked against nats-py's own parser), hosts to the release's Services."""

from __future__ import annotations

import pytest

from quickmeet_conformance.connections import mongo_uri, nats_url
from quickmeet_conformance.connections.hosts import resolve
from quickmeet_conformance.connections.sources import keys_holding
from quickmeet_conformance.render import Manifest
from quickmeet_conformance.topology import build_topology

NATS_CASES = [
    "nats://rocketchat-nats:4222",
    "nats://user:pw@rocketchat-nats:4222",
    "nats://s3cr3t-token@rocketchat-nats",
    "tls://user:pw@nats.example.com:4443",
    "rocketchat-nats",
    "rocketchat-nats:4223",
    "nats://rocketchat-nats:42x2",
    "nats://rocketchat-nats:99999",
    "nats://:4222",
    "nats://u:p@ss@rocketchat-nats:4222",
]


@pytest.mark.parametrize("url", NATS_CASES)
def test_nats_reader_agrees_with_nats_py(url: str) -> None:
    client = pytest.importorskip("nats.aio.client").Client
    ours = nats_url.read(url)
    try:
        theirs = client._parse_server_uri(url)
    except Exception:
        assert ours.error, f"nats-py refuses {url!r}, our reader accepts it"
        return
    assert not ours.error, f"nats-py accepts {url!r}, our reader refuses it: {ours.error}"
    assert (ours.scheme, ours.host, ours.port) == (theirs.scheme, theirs.hostname, theirs.port)
    if theirs.password is None:
        assert ours.token == theirs.username and ours.user is None
    else:
        assert (ours.user, ours.password) == (theirs.username, theirs.password)


def test_nats_monolith_prefix_and_dial_address() -> None:
    url = nats_url.read("monolith+nats://u:p@rocketchat-nats:4222")
    assert (url.scheme, url.host, url.port, url.user) == ("nats", "rocketchat-nats", 4222, "u")
    assert nats_url.with_address(url, "127.0.0.1", 5000) == "nats://u:p@127.0.0.1:5000"


@pytest.mark.parametrize(
    "uri,part",
    [
        (
            "mongodb://rocketchat:p@ss@rocketchat-mongodb-headless:27017/rocketchat",
            "password (unescaped '@')",
        ),
        ("mongodb://rocketchat:pa:ss@h:27017/rocketchat", "password (unescaped ':')"),
        ("mongodb://rocketchat:pa/ss@h:27017/rocketchat", "password (unescaped '/')"),
        ("mongodb://rocket@chat:pass@h/rocketchat", "user name (unescaped '@')"),
        ("mongodb://u:p@h:99999/db", "host"),
        ("postgres://u:p@h/db", "scheme"),
        ("mongodb://u:p@h/db?replicaSet=rs0&noSuchOption=1", "options"),
    ],
)
def test_mongo_refusals_name_the_part(uri: str, part: str) -> None:
    parsed = mongo_uri.parse(uri)
    assert parsed.error
    assert mongo_uri.part_at_fault(uri, parsed.error).startswith(part)


def test_mongo_srv_is_validated_without_dns(monkeypatch) -> None:
    """mongodb+srv:// is checked by the driver's own validation; its DNS step never runs."""
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the static lane must not touch the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    pytest.importorskip("dns.resolver")
    import dns.resolver

    monkeypatch.setattr(dns.resolver, "resolve", no_network)
    ok = mongo_uri.parse("mongodb+srv://rc:pw@cluster0.example.invalid/rocketchat?retryWrites=true")
    assert not ok.error and ok.srv and ok.nodes == (("cluster0.example.invalid", 27017),)
    bad = mongo_uri.parse("mongodb+srv://rc:pw@cluster0.example.invalid:27017/rocketchat")
    assert "port" in bad.error


def test_mongo_parse_reads_fields() -> None:
    parsed = mongo_uri.parse(
        "mongodb://root:r%40ot@rocketchat-mongodb-headless:27017/local?replicaSet=rs0&authSource=admin"
    )
    assert (parsed.username, parsed.password, parsed.database) == ("root", "r@ot", "local")
    assert parsed.options["replicaset"] == "rs0" and parsed.options["authsource"] == "admin"


def _service(name: str, selector: dict[str, str], port: int) -> Manifest:
    body = {"spec": {"selector": selector, "ports": [{"name": "p", "port": port}]}}
    return Manifest("v1", "Service", name, "default", "t.yaml", body)


def _sts(name: str, labels: dict[str, str]) -> Manifest:
    body = {
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "mongodb", "image": "bitnami/mongodb:6"}]},
            },
        }
    }
    return Manifest("apps/v1", "StatefulSet", name, "default", "t.yaml", body)


def test_hosts_resolve_to_services_or_outside() -> None:
    topo = build_topology(
        [_service("rc-mongodb-headless", {"app": "m"}, 27017), _sts("rc-mongodb", {"app": "m"})]
    )
    for host in (
        "rc-mongodb-headless",
        "rc-mongodb-headless.default",
        "rc-mongodb-headless.default.svc.cluster.local",
        "rc-mongodb-0.rc-mongodb-headless",
        "rc-mongodb-0.rc-mongodb-headless.default.svc.cluster.local",
    ):
        found = resolve(host, 27017, topo, "rc", "default")
        assert found.service == "rc-mongodb-headless" and found.port_exposed, host
        assert found.workloads == ("StatefulSet/rc-mongodb",), host
    assert resolve("rc-mongodb-headless", 27018, topo, "rc", "default").port_exposed is False
    for outside in ("mongo.example.com", "mongo-0.mongo", "rc-mongodb.other.svc", "db"):
        assert resolve(outside, 27017, topo, "rc", "default").outside, outside
    missing = resolve("rc-mongodb", 27017, topo, "rc", "default")
    assert missing.missing and not missing.outside


def test_values_key_is_found_by_value() -> None:
    values = {"mongodb": {"auth": {"passwords": ["pw@1"], "rootPassword": "root"}}, "externalMongodbUrl": "x"}
    assert keys_holding(values, "mongodb://whole", "pw@1") == ("mongodb.auth.passwords[0]",)
    assert keys_holding(values, "x", "pw@1") == ("externalMongodbUrl",)
    assert keys_holding(values, None, "nothing") == ()

"""The kind lane starts the MongoDB an ``externalMongodbUrl`` names (issue 23): configured only from the URLs
the release gives its components, in the release's namespace, and left out of the release's snapshot."""

from __future__ import annotations

from typing import Any

from quickmeet_conformance.live import external_mongodb
from quickmeet_conformance.render import Manifest
from quickmeet_conformance.topology import ComponentMatcher, build_topology

URL = "mongodb://rocketchat:rc%2Bpass@mongo-0.mongo:27017/rocketchat?replicaSet=rs0"
OPLOG = "mongodb://oplog:oplogpass@mongo-0.mongo:27017/local?replicaSet=rs0&authSource=admin"


def _app(name: str, env: dict[str, str]) -> Manifest:
    labels = {"app": name}
    body = {
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": "rocketchat/rocket.chat:7.0.0",
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                        }
                    ]
                },
            },
        }
    }
    return Manifest("apps/v1", "Deployment", name, "ns1", f"{name}.yaml", body)


def _plan(*manifests: Manifest) -> tuple[list[external_mongodb.ExternalMongo], list[str]]:
    matcher = ComponentMatcher()
    topology = build_topology(manifests, matcher)
    return external_mongodb.plan(topology, {}, release="r", namespace="ns1", matcher=matcher)


def _env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = next(o for o in objects if o["kind"] == "Pod")
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def test_one_server_with_every_user_the_urls_name() -> None:
    servers, notes = _plan(
        _app("r-chat", {"MONGO_URL": URL, "MONGO_OPLOG_URL": OPLOG}), _app("r-presence", {"MONGO_URL": URL})
    )
    assert notes == []
    [server] = servers
    assert (server.namespace, server.service, server.pod, server.port) == ("ns1", "mongo", "mongo-0", 27017)
    assert server.replica_set == "rs0"
    assert {(u.name, u.database, u.password) for u in server.users} == {
        ("rocketchat", "rocketchat", "rc+pass"),  # percent-decoded as the Node.js driver sends it
        ("oplog", "admin", "oplogpass"),
    }
    objects = external_mongodb.manifests(server, "localhost/qmc/mongodb:local")
    assert [o["kind"] for o in objects] == ["Secret", "Service", "Pod"]
    assert all(external_mongodb.is_outside(o) for o in objects)
    secret, service, pod = objects
    assert service["spec"]["clusterIP"] == "None" and service["metadata"]["name"] == "mongo"
    assert pod["spec"]["hostname"] == "mongo-0" and pod["spec"]["subdomain"] == "mongo"
    env = _env(objects)
    assert env["MONGODB_REPLICA_SET_NAME"] == "rs0" and env["MONGODB_REPLICA_SET_MODE"] == "primary"
    assert env["MONGODB_ADVERTISED_HOSTNAME"] == "mongo-0.mongo.ns1.svc.cluster.local"
    assert env["MONGODB_ROOT_USER"] == "oplog"  # the admin database's user is the server's root
    assert env["MONGODB_EXTRA_USERNAMES"] == "rocketchat" and env["MONGODB_EXTRA_DATABASES"] == "rocketchat"
    assert secret["stringData"] == {"root-password": "oplogpass", "passwords": "rc+pass"}
    # passwords reach the pod only through the Secret, never as a literal env value
    assert "rc+pass" not in str(pod) and "oplogpass" not in str(pod)
    assert "rc+pass" not in repr(server)


def test_no_credentials_no_authentication() -> None:
    [server], _ = _plan(_app("r-chat", {"MONGO_URL": "mongodb://db:27018/rocketchat"}))
    assert (server.service, server.pod, server.port, server.replica_set) == ("db", None, 27018, None)
    objects = external_mongodb.manifests(server, "img")
    assert [o["kind"] for o in objects] == ["Service", "Pod"]
    env = _env(objects)
    assert env["ALLOW_EMPTY_PASSWORD"] == "yes" and "MONGODB_REPLICA_SET_MODE" not in env


def test_names_outside_the_namespace_are_left_alone_and_said() -> None:
    servers, notes = _plan(
        _app(
            "r-a", {"MONGO_URL": "mongodb://u:p@mongo-0.mongo.db.svc.cluster.local:27017/rc?replicaSet=rs0"}
        ),
        _app("r-b", {"MONGO_URL": "mongodb://u:p@db.example.com:27017/rc"}),
    )
    assert servers == []
    assert len(notes) == 2 and all("not a name of namespace ns1" in n for n in notes), notes


def test_the_release_own_mongodb_is_not_started_again() -> None:
    service = Manifest(
        "v1", "Service", "r-mongodb", "ns1", "svc.yaml", {"spec": {"ports": [{"port": 27017}]}}
    )
    servers, notes = _plan(_app("r-chat", {"MONGO_URL": "mongodb://u:p@r-mongodb:27017/rc"}), service)
    assert (servers, notes) == ([], [])


def test_cluster_names() -> None:
    assert external_mongodb.cluster_name("mongo", "ns") == ("mongo", None)
    assert external_mongodb.cluster_name("mongo-0.mongo", "ns") == ("mongo", "mongo-0")
    assert external_mongodb.cluster_name("mongo-0.mongo.ns.svc.cluster.local", "ns") == ("mongo", "mongo-0")
    assert external_mongodb.cluster_name("mongo.ns.svc", "ns") == ("mongo", None)
    assert external_mongodb.cluster_name("mongo.other.svc", "ns") is None
    assert external_mongodb.cluster_name("db.example.com", "ns") is None

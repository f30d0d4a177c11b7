"""The lane's gathering on a small hand-made release: a NATS server whose authorization reads its password
from the environment ($NATS_PASSWORD), set from a Secret the render holds (judged with that value) or from
one it does not (not judged, never a false refusal)."""

from __future__ import annotations

import base64

import pytest

from quickmeet_conformance.connections import nats_judge
from quickmeet_conformance.connections.gather import gather
from quickmeet_conformance.connections.model import NatsClient
from quickmeet_conformance.render import Manifest
from quickmeet_conformance.topology import ComponentMatcher, build_topology

CONF = "port: 4222\nserver_name: $POD_NAME\nauthorization {\n  user: rc\n  password: $NATS_PASSWORD\n}\n"


def _release(secret_rendered: bool, transporter: str) -> list[Manifest]:
    labels = {"app": "nats"}
    nats = {
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "volumes": [{"name": "cfg", "configMap": {"name": "r-nats-config"}}],
                    "containers": [
                        {
                            "name": "nats",
                            "image": "nats:2.10-alpine",
                            "command": ["nats-server", "--config", "/etc/nats-config/nats.conf"],
                            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/nats-config"}],
                            "env": [
                                {
                                    "name": "POD_NAME",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                },
                                {
                                    "name": "NATS_PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": "r-nats-auth", "key": "pw"}},
                                },
                            ],
                        }
                    ],
                },
            },
        }
    }
    app = {
        "spec": {
            "selector": {"matchLabels": {"app": "chat"}},
            "template": {
                "metadata": {"labels": {"app": "chat"}},
                "spec": {
                    "containers": [
                        {
                            "name": "chat",
                            "image": "rocketchat/rocket.chat:7.0.0",
                            "env": [{"name": "TRANSPORTER", "value": transporter}],
                        }
                    ]
                },
            },
        }
    }
    manifests = [
        Manifest("apps/v1", "StatefulSet", "r-nats", "default", "nats.yaml", nats),
        Manifest("apps/v1", "Deployment", "r-chat", "default", "chat.yaml", app),
        Manifest("v1", "ConfigMap", "r-nats-config", "default", "cm.yaml", {"data": {"nats.conf": CONF}}),
        Manifest(
            "v1",
            "Service",
            "r-nats",
            "default",
            "svc.yaml",
            {"spec": {"selector": labels, "ports": [{"name": "client", "port": 4222}]}},
        ),
    ]
    if secret_rendered:
        data = {"pw": base64.b64encode(b"env-s3cret").decode()}
        manifests.append(Manifest("v1", "Secret", "r-nats-auth", "default", "s.yaml", {"data": data}))
    return manifests


def _client(secret_rendered: bool, transporter: str) -> NatsClient:
    topo = build_topology(_release(secret_rendered, transporter))
    conns = gather(
        topo, {}, release="r", namespace="default", matcher=ComponentMatcher(), judge=nats_judge.judge
    )
    (client,) = conns.nats
    assert isinstance(client, NatsClient)
    return client


@pytest.mark.parametrize("password,accepted", [("env-s3cret", True), ("wrong", False)])
def test_server_reads_its_password_from_a_rendered_secret(password: str, accepted: bool) -> None:
    if nats_judge.find_nats_server() is None:
        pytest.skip("nats-server not installed (scripts/install-probe-tools.sh)")
    client = _client(True, f"nats://rc:{password}@r-nats:4222")
    assert client.server == "StatefulSet/r-nats" and not client.unjudged
    assert client.verdict is not None and client.verdict.accepted is accepted, client.verdict


def test_password_from_a_secret_outside_the_render_is_not_judged() -> None:
    client = _client(False, "nats://rc:anything@r-nats:4222")
    assert client.verdict is None
    assert "$NATS_PASSWORD" in client.unjudged and "r-nats-auth" in client.unjudged

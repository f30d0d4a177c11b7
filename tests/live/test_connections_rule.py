"""live.connections reads the termination messages of the containers that stopped on a connection."""

from __future__ import annotations

from typing import Any

from quickmeet_conformance.live.rules.connections import connection_errors
from quickmeet_conformance.live.state import LiveState


def _pod(name: str, rs: str, message: str, key: str = "lastState") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "name": rs}]},
        "status": {"containerStatuses": [{"name": "c", key: {"terminated": {"message": message}}}]},
    }


def _rs(name: str, deployment: str) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": name, "ownerReferences": [{"kind": "Deployment", "name": deployment}]},
    }


def _ready(pod: dict[str, Any]) -> dict[str, Any]:
    pod["status"]["containerStatuses"][0]["ready"] = True
    return pod


def test_each_backend_names_the_workloads_that_stopped_on_it() -> None:
    mongo = "MongoDB: MONGO_URL mongodb://rocketchat:***@db:27017/rocketchat: MongoServerError: Authentication failed."
    nats = "NATS: nats://nats:4222 refused the connection: 'Authorization Violation'"
    state = LiveState.from_list(
        "ns",
        {
            "items": [
                _rs("p-1", "rocketchat-presence"),
                _rs("d-1", "rocketchat-ddp-streamer"),
                _pod("p-1-a", "p-1", mongo),
                _pod("p-1-b", "p-1", mongo, key="state"),
                _pod("d-1-a", "d-1", nats),
                _pod("d-1-b", "d-1", "Error: something else"),
                _ready(_pod("d-1-c", "d-1", "MongoDB: timed out while MongoDB was starting")),
            ]
        },
        matcher=None,  # type: ignore[arg-type]
    )
    found = connection_errors(state)
    assert found == {
        "MongoDB": {"Deployment/rocketchat-presence": mongo},
        "NATS": {"Deployment/rocketchat-ddp-streamer": nats},
    }


def test_a_release_that_never_rolled_out_counts_ready_containers_too() -> None:
    """A service without a readiness probe is Ready while its driver waits for a replica set that never
    answers: between two stops it must still be named (the wrong-replica-set kind mutant)."""
    message = "MongoDB: MONGO_URL ...: MongoServerSelectionError: no member of replica set 'rs0' answered"
    items = [_rs("p-1", "rocketchat-presence"), _ready(_pod("p-1-a", "p-1", message))]
    state = LiveState.from_list("ns", {"items": items}, matcher=None)  # type: ignore[arg-type]
    assert connection_errors(state) == {}
    assert connection_errors(state, settled=False) == {"MongoDB": {"Deployment/rocketchat-presence": message}}

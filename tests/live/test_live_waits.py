"""The live lane's waits derive their deadlines from the release (issue 24): the bus probe's discovery
deadline is the release's heartbeat timeout, the rollout's deadline stretches to what the workloads' own
probes allow, and a single liveness restart on a loaded machine is not a crash loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quickmeet_conformance.live.probing import BUS_OPTIONS, bus_probe_options
from quickmeet_conformance.live.rollout import (
    CRASH_LOOP_RESTARTS,
    START_MARGIN_S,
    pod_allowance_s,
    pod_failure,
    probe_allowance_s,
    workload_allowance_s,
)
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.progress import Waited
from quickmeet_conformance.topology import Topology


def test_discovery_deadline_is_the_releases_heartbeat_timeout(
    account_topology: Callable[[str], Topology],
) -> None:
    exp = nb.BusExpectations.from_counts(
        {"accounts": None}, pods={"accounts": ["r-account-1"]}, namespace="ns"
    )
    both = "{name: HEARTBEAT_INTERVAL, value: '7'}, {name: HEARTBEAT_TIMEOUT, value: '40'}"
    options = bus_probe_options(account_topology(both), exp)
    assert (options.heartbeat_interval, options.discover_deadline_s, options.ping_deadline_s) == (
        7.0,
        40.0,
        7.0,
    )
    assert options.expect is exp and options.namespace == "ns"
    interval_only = account_topology("{name: HEARTBEAT_INTERVAL, value: '4'}")
    assert bus_probe_options(interval_only, exp).discover_deadline_s == 12.0  # three intervals, as Moleculer
    unset = account_topology("{name: TRANSPORTER, value: 'nats://n:4222'}")
    defaults = bus_probe_options(unset, exp)
    assert (defaults.heartbeat_interval, defaults.discover_deadline_s) == (
        10.0,
        30.0,
    )  # Moleculer's 10 s / 30 s
    assert BUS_OPTIONS.time_budget > defaults.discover_deadline_s + defaults.heartbeat_window


def _container(**probes: dict[str, Any]) -> dict[str, Any]:
    return {"name": "app", "image": "x", **probes}


def test_pod_allowance_follows_the_probes() -> None:
    liveness = {"initialDelaySeconds": 60, "periodSeconds": 15, "failureThreshold": 3, "timeoutSeconds": 5}
    readiness = {"initialDelaySeconds": 10, "periodSeconds": 10}
    spec = {"containers": [_container(livenessProbe=liveness, readinessProbe=readiness)]}
    # liveness gives up after 60 + 3 x (15 + 5) = 120 s; one readiness period later the pod is Ready or not
    assert pod_allowance_s(spec) == 130.0
    startup = {"periodSeconds": 10, "failureThreshold": 30}  # 30 x (10 + 1) = 330 s to start
    assert (
        pod_allowance_s({"containers": [_container(startupProbe=startup, readinessProbe=readiness)]}) == 340.0
    )
    assert pod_allowance_s({"containers": [_container()]}) == 0.0


def _workload(kind: str, replicas: int, **spec: Any) -> dict[str, Any]:
    liveness = {"initialDelaySeconds": 20, "periodSeconds": 10, "failureThreshold": 3}  # 20 + 33 = 53 s
    template = {"spec": {"containers": [_container(livenessProbe=liveness)]}}
    return {
        "kind": kind,
        "metadata": {"name": "w"},
        "spec": {"replicas": replicas, "template": template, **spec},
    }


def test_workload_allowance_counts_batches() -> None:
    assert workload_allowance_s(_workload("StatefulSet", 3)) == 3 * 53.0  # OrderedReady: one by one
    assert workload_allowance_s(_workload("StatefulSet", 3, podManagementPolicy="Parallel")) == 53.0
    assert workload_allowance_s(_workload("Deployment", 4)) == 4 * 53.0  # 25% surge of 4: one at a time
    surge = {"rollingUpdate": {"maxSurge": 2}}
    assert workload_allowance_s(_workload("Deployment", 4, strategy=surge, minReadySeconds=7)) == 2 * 60.0
    allowance, which = probe_allowance_s([_workload("Deployment", 1), _workload("StatefulSet", 2)])
    assert (allowance, which) == (2 * 53.0 + START_MARGIN_S, "StatefulSet/w")
    assert probe_allowance_s([{"kind": "Pod"}]) == (0.0, "")


def test_one_liveness_restart_is_not_a_crash_loop() -> None:
    def pod(restarts: int) -> dict[str, Any]:
        waiting = {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}
        status = {
            "containerStatuses": [{"name": "app", "restartCount": restarts, "state": {"waiting": waiting}}]
        }
        return {"metadata": {"name": "p"}, "status": status}

    assert pod_failure(pod(1), 0.0, {}) == ""
    assert "CrashLoopBackOff" in pod_failure(pod(CRASH_LOOP_RESTARTS), 0.0, {})


def test_a_wait_says_how_it_ended() -> None:
    assert Waited("bus discovery", 3.21, True, 30.0).line() == "bus discovery: met after 3.2s of 30s"
    missed = Waited("bus discovery", 30.0, False, 30.0, "pod p (presence)")
    assert missed.line() == "bus discovery: NOT met (pod p (presence)) after 30.0s of 30s"

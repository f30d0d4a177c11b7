"""Units of the live lane that need no cluster: rollout verdicts, the pod counter, helm error lines, endpoint
resolution, and what ``--cluster none`` says."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.live.pod_counter import PodCounter
from quickmeet_conformance.live.release import _helm_error
from quickmeet_conformance.live.rollout import pod_failure, workload_pending
from quickmeet_conformance.live.state import LiveState, LiveView
from quickmeet_conformance.reports.live import pod_timeline_dict
from quickmeet_conformance.rules.engine import rules_for_lane
from quickmeet_conformance.topology import ComponentMatcher, Topology

HUB_IMAGE = "registry.rocket.chat/rocketchat/stream-hub-service:7.5.0"


def rolled(want: int, total: int, ready: int) -> dict:
    """A Deployment of ``want`` replicas, all updated, ``ready`` of them ready, ``total`` pods in all."""
    status = {
        "observedGeneration": 2,
        "replicas": total,
        "updatedReplicas": want,
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    return {
        "kind": "Deployment",
        "metadata": {"name": "d", "generation": 2},
        "spec": {"replicas": want},
        "status": status,
    }


def test_workload_pending_until_every_replica_is_updated_available_and_old_pods_are_gone() -> None:
    assert workload_pending(rolled(2, total=2, ready=2)) == ""
    assert "1/2 available" in workload_pending(rolled(2, total=2, ready=1))
    assert "old pod" in workload_pending(rolled(1, total=2, ready=1))
    stale = rolled(1, total=1, ready=1)
    stale["status"]["observedGeneration"] = 1
    assert "not observed" in workload_pending(stale)


def test_pod_failure_stops_the_wait_with_the_reason() -> None:
    pod = {
        "metadata": {"name": "p"},
        "status": {
            "containerStatuses": [
                {
                    "name": "c",
                    "state": {
                        "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "x" not found'}
                    },
                }
            ]
        },
    }
    assert "CreateContainerConfigError" in pod_failure(pod, 0.0, {})
    unschedulable = {
        "metadata": {"name": "q"},
        "status": {
            "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes"}
            ]
        },
    }
    seen: dict[str, float] = {}
    assert pod_failure(unschedulable, 100.0, seen) == ""  # a claim may still bind: grace period
    assert "unschedulable" in pod_failure(unschedulable, 106.0, seen)


def hub_pod(name: str, deleting: bool = False) -> dict:
    meta = {"name": name, **({"deletionTimestamp": "now"} if deleting else {})}
    return {"metadata": meta, "spec": {"containers": [{"image": HUB_IMAGE}]}}


def test_pod_counter_counts_terminating_pods_until_they_are_deleted() -> None:
    counter = PodCounter("stream-hub", ComponentMatcher())
    counter.on_event("ADDED", hub_pod("hub-old"))
    counter.on_event("ADDED", {"metadata": {"name": "nats-0"}, "spec": {"containers": [{"image": "nats:2"}]}})
    counter.mark_synced()
    counter.on_event("ADDED", hub_pod("hub-new"))  # maxSurge 1: the new hub starts first
    counter.on_event("MODIFIED", hub_pod("hub-old", deleting=True))
    counter.on_event("DELETED", hub_pod("hub-old", deleting=True))
    result = counter.result("an upgrade")
    assert result.peak == 2 and result.peak_pods == ("hub-new", "hub-old"), result
    assert result.replaced
    assert any("ADDED" in line and "hub-new" in line and "(2 exist)" in line for line in result.timeline), (
        result.timeline
    )
    # the points the reports draw as a step chart: the count when the watch synced, then after each change
    steps = [(count, event, pod) for _, count, event, pod in result.points]
    assert steps == [(1, "WATCHING", ""), (2, "ADDED", "hub-new"), (1, "DELETED", "hub-old")], steps
    times = [t for t, *_ in result.points]
    assert times == sorted(times), times
    drawn = pod_timeline_dict(result)
    assert drawn["peak"] == 2 and [p["count"] for p in drawn["points"]] == [1, 2, 1], drawn


def test_pod_counter_stops_counting_a_pod_whose_containers_stopped() -> None:
    """A Recreate rollout on a real cluster: the Deployment controller starts the new hub once the old pod's
    containers have stopped (phase Failed/Succeeded), while the old pod object still exists for a moment.
    One hub ran at a time: the peak is 1 (seen on kind; KWOK deletes pods at once)."""
    counter = PodCounter("stream-hub", ComponentMatcher())
    counter.on_event("ADDED", hub_pod("hub-old"))
    counter.mark_synced()
    counter.on_event("MODIFIED", hub_pod("hub-old", deleting=True))  # still running: counted
    stopped = {**hub_pod("hub-old", deleting=True), "status": {"phase": "Failed"}}
    counter.on_event("MODIFIED", stopped)
    counter.on_event("ADDED", hub_pod("hub-new"))
    counter.on_event("MODIFIED", stopped)
    counter.on_event("DELETED", stopped)
    result = counter.result("a Recreate rollout")
    assert result.peak == 1, result.timeline
    steps = [(count, event, pod) for _, count, event, pod in result.points]
    assert steps == [(1, "WATCHING", ""), (0, "STOPPED", "hub-old"), (1, "ADDED", "hub-new")], steps


def test_an_upgrade_that_removes_stream_hub_is_said_to_remove_it() -> None:
    """App 8 has no stream-hub (CONTRACT.md > Version rules): the upgrade deletes its pod and starts none.
    live.streamhub-peak-one says so, instead of "the pod template did not change"."""
    counter = PodCounter("stream-hub", ComponentMatcher())
    counter.on_event("ADDED", hub_pod("hub-old"))
    counter.mark_synced()
    counter.on_event("MODIFIED", hub_pod("hub-old", deleting=True))
    counter.on_event("DELETED", hub_pod("hub-old", deleting=True))
    view = LiveView("r", "ns", None, None, None, hub=counter.result("helm upgrade to app 8"))
    rule = next(r for r in rules_for_lane("live") if r.id == "live.streamhub-peak-one")
    [finding] = list(rule.check(SimpleNamespace(live=view), rule))  # type: ignore[arg-type]  # reads ctx.live only
    assert finding.verdict == Verdict.SKIP, finding
    assert "removed stream-hub" in finding.message, finding.message


def test_helm_error_keeps_the_detail_lines() -> None:
    text = (
        "Error: UPGRADE FAILED: 1 error occurred:\n"
        '\t* Deployment.apps "r-ddp" is invalid: spec.selector: Invalid value: ...: field is immutable\n\n'
    )
    assert _helm_error(text) == (
        'Error: UPGRADE FAILED: 1 error occurred: Deployment.apps "r-ddp" is invalid: '
        "spec.selector: Invalid value: ...: field is immutable"
    )


def test_endpoints_are_read_per_slice_port_with_their_pods() -> None:
    state = LiveState.from_list(
        "ns",
        {
            "items": [
                {
                    "kind": "EndpointSlice",
                    "metadata": {"name": "s-1", "labels": {"kubernetes.io/service-name": "s"}},
                    "ports": [{"name": "http", "port": 3000}],
                    "endpoints": [
                        {
                            "addresses": ["10.0.0.1"],
                            "conditions": {"ready": True},
                            "targetRef": {"kind": "Pod", "name": "p1"},
                        },
                        {
                            "addresses": ["10.0.0.2"],
                            "conditions": {"ready": False},
                            "targetRef": {"kind": "Pod", "name": "p2"},
                        },
                    ],
                },
            ]
        },
        ComponentMatcher(),
    )
    endpoints = state.endpoints("s")
    assert [(e.pod, e.ready, e.port_name, e.port) for e in endpoints] == [
        ("p1", True, "http", 3000),
        ("p2", False, "http", 3000),
    ]
    assert state.endpoints("other") == []


def test_cluster_none_skips_the_live_suites_with_the_reason(run_pytest) -> None:
    proc = run_pytest(
        [
            "suites/live/test_topology.py",
            "--cluster",
            "none",
            "-rs",
            "-q",
            "-k",
            "seed-docs and helm3 and workloads",
        ],
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "live lane not run: --cluster none" in output, output[-3000:]


def test_diagnostics_describe_pods_not_ready_from_the_objects() -> None:
    """What a failing live case attaches: events oldest first, pods, workloads, and a describe of the pods that
    are not Ready (conditions, container state, environment, their events), all through the redactor."""
    from quickmeet_conformance.live import diagnostics

    env = [
        {"name": "TRANSPORTER", "value": "nats://u:s3cret@nats:4222"},
        {"name": "MONGO_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "mongo-uri"}}},
    ]
    pending = {
        "kind": "Pod",
        "metadata": {"name": "ddp-1"},
        "spec": {"containers": [{"name": "ddp", "image": "i:1", "env": env}]},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
        },
    }
    ready = {
        "kind": "Pod",
        "metadata": {"name": "web-1"},
        "spec": {"containers": [{"name": "web", "image": "w:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0}],
        },
    }
    events = [
        {
            "type": "Warning",
            "reason": "FailedScheduling",
            "message": "0/3 nodes: Insufficient cpu",
            "lastTimestamp": "2026-01-01T00:00:02Z",
            "involvedObject": {"kind": "Pod", "name": "ddp-1"},
        },
        {
            "type": "Normal",
            "reason": "Scheduled",
            "message": "assigned",
            "lastTimestamp": "2026-01-01T00:00:01Z",
            "involvedObject": {"kind": "Pod", "name": "web-1"},
        },
    ]
    objects = {
        "Event": events,
        "Pod": [pending, ready],
        "Deployment": [],
        "StatefulSet": [],
        "ReplicaSet": [],
    }

    class FakeKube:
        def list_kinds(self, kinds: tuple[str, ...], namespace: str, *, timeout: float | None = None) -> list:
            return [o for kind in kinds for o in objects[kind]]

    text = diagnostics.collect(FakeKube(), "ns", lambda t: t.replace("s3cret", "***"))  # type: ignore[arg-type]  # a stand-in
    assert text.index("Scheduled") < text.index("FailedScheduling"), "events must come oldest first"
    assert "--- describe pod/ddp-1 ---" in text and "pod/web-1" not in text.split("--- describe")[1], text
    assert "condition PodScheduled=False Unschedulable" in text and "Insufficient cpu" in text, text
    assert "TRANSPORTER=nats://u:***@nats:4222" in text and "s3cret" not in text, text
    assert "MONGO_URL <- secret db/mongo-uri" in text, text


def test_kind_cluster_name_is_ours_unless_the_user_names_one() -> None:
    """pytest-kind-ng registers --cluster-name with its own default, ``pytest-kind``: the lane's cluster keeps
    the ``qmc-`` prefix by which a later run reaps clusters a killed run left behind."""
    from quickmeet_conformance.plugin_live import _kind_cluster_name

    def config(value: str | None) -> pytest.Config:
        return SimpleNamespace(getoption=lambda name, default=None: value)  # type: ignore[return-value]  # reads getoption only

    assert _kind_cluster_name(config("pytest-kind")) == "qmc-conformance"
    assert _kind_cluster_name(config(None)) == "qmc-conformance"
    assert _kind_cluster_name(config("qmc-mine")) == "qmc-mine"


def test_bus_probe_listens_two_of_the_releases_own_heartbeat_intervals(
    account_topology: Callable[[str], Topology],
) -> None:
    """The heartbeat window follows the HEARTBEAT_INTERVAL the chart gives the pods (the public chart: 10), else
    Moleculer's default: a node is called silent only after two missed beats, never for its phase (a 5 s
    guess against 10 s beats failed seed-docs on kind now and then)."""
    from quickmeet_conformance.live.probing import BUS_OPTIONS, _heartbeat_interval

    set_by_chart = account_topology("{name: HEARTBEAT_INTERVAL, value: '7'}")
    unset = account_topology("{name: TRANSPORTER, value: 'nats://r-nats:4222'}")
    assert _heartbeat_interval(set_by_chart, BUS_OPTIONS.heartbeat_interval) == 7.0
    assert _heartbeat_interval(unset, BUS_OPTIONS.heartbeat_interval) == 10.0
    assert BUS_OPTIONS.heartbeat_window == 2 * BUS_OPTIONS.heartbeat_interval

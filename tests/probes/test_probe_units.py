"""Pure parts of the probes: naming, redaction, expectations, SockJS frame decoding. No processes."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from probe_scenarios import judge

from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.probes import ddp
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.probes.context import BusContext
from quickmeet_conformance.probes.rules import bus as bus_rules
from quickmeet_conformance.rules.engine import RULES

POD = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True)  # DNS-1123 labels


@given(pod=POD, pid=st.integers(min_value=1, max_value=4_194_304))
def test_node_id_maps_back_to_its_pod(pod: str, pid: int) -> None:
    assert nb.pod_name_of(f"{pod}-{pid}") == pod


def test_node_id_examples() -> None:
    assert nb.pod_name_of("rel-ddp-streamer-7d9f-abcde-1") == "rel-ddp-streamer-7d9f-abcde"
    assert nb.pod_name_of("no-pid-suffix") == "no-pid-suffix"


def test_subject_prefix_and_probe_id() -> None:
    assert nb.subject_prefix() == "MOL" and nb.subject_prefix("ns") == "MOL-ns"
    first, second = nb.new_probe_id(), nb.new_probe_id()
    assert first.startswith("qmc-probe-") and first != second


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://u:secret@nats:4222", "nats://u:***@nats:4222"),
        ("nats://nats:4222", "nats://nats:4222"),
        ("nats://u:secret@nats", "nats://u:***@nats"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert nb.redact_url(url) == shown


def test_unknown_component_in_expectations() -> None:
    with pytest.raises(ValueError, match="unknown component.*ddp-streamers"):
        nb.BusExpectations.from_counts({"ddp-streamers": 2})


def test_pods_give_the_count_when_none_is_given() -> None:
    exp = nb.BusExpectations.from_counts({"presence": None}, pods={"presence": ["a", "b"]})
    assert exp.get("presence").nodes == 2 and exp.pods_known


def test_zero_expected_component_is_not_required() -> None:
    """stream-hub on app >= 8.0: expected 0 nodes, so its absence is not a service-announced failure."""
    obs = nb.BusObservation(url="nats://x", prefix="MOL", probe_id="qmc-probe-1", connected=True)
    exp = nb.BusExpectations.from_counts({"stream-hub": 0})
    announced = RULES[nb.RULE_SERVICE_ANNOUNCED]
    assert bus_rules.service_announced(BusContext(obs, exp), announced) == []  # nothing to fail
    assert {f.verdict for f in judge(nb.RULE_SERVICE_ANNOUNCED, obs, exp)} == {
        Verdict.PASS
    }  # so the engine passes
    assert {f.verdict for f in judge(nb.RULE_NODE_COUNT, obs, exp)} == {Verdict.PASS}


def test_truncated_observation_says_counts_may_be_low() -> None:
    node = nb.BusNode("a-1", ("presence",), "a", "i", "4")
    obs = nb.BusObservation(
        url="nats://x",
        prefix="MOL",
        probe_id="p",
        connected=True,
        nodes={"a-1": node},
        truncated=True,
        heartbeat_window=2.0,
        heartbeat_interval=1.0,
    )
    [finding] = judge(nb.RULE_HEARTBEATS, obs)
    assert finding.verdict is Verdict.FAIL and "packet cap was hit" in finding.message


class _FakeSocket:
    """Stands in for a websockets connection: replays frames, records what is sent."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = list(frames)
        self.sent: list[str] = []

    async def recv(self) -> str:
        if not self.frames:
            await asyncio.sleep(10)
        return self.frames.pop(0)

    async def send(self, text: str) -> None:
        self.sent.append(text)


def test_sockjs_conversation_skips_heartbeats_and_answers_server_pings() -> None:
    connected = json.dumps([json.dumps({"msg": "connected", "session": "s"})])
    ws = _FakeSocket(["o", "h", 'a["{\\"msg\\":\\"ping\\"}"]', "h", "a" + connected])
    conv = ddp._Conversation(ws, "sockjs", timeout=1.0)
    answer = asyncio.run(conv.until(lambda m: m.get("msg") == "connected"))
    assert answer == {"msg": "connected", "session": "s"}
    assert conv.sockjs_open and ws.sent == [json.dumps(['{"msg":"pong"}'])]


def test_sockjs_close_frame_is_a_protocol_error() -> None:
    conv = ddp._Conversation(_FakeSocket(["o", 'c[3000,"Go away!"]']), "sockjs", timeout=1.0)
    with pytest.raises(ddp._ProtocolError, match="SockJS close frame"):
        asyncio.run(conv.until(lambda m: True))


def test_frame_cap_bounds_a_chatty_server() -> None:
    conv = ddp._Conversation(_FakeSocket(['{"msg":"added"}'] * 100), "raw", timeout=5.0)
    with pytest.raises(ddp._ProtocolError, match="within the first 50 frames"):
        asyncio.run(conv.until(lambda m: m.get("msg") == "connected"))


def test_missing_tool_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import probe_peers

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="qmc-no-such-tool is not installed"):
        probe_peers.require_tool("qmc-no-such-tool")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        probe_peers.require_tool("qmc-no-such-tool")


def test_a_failed_handshake_names_what_stands_behind_the_route() -> None:
    """The evidence that tells "the Service selects no pod" from a controller that refused or timed out: the
    route's Service and its ready endpoints, read from the cluster's EndpointSlices (issue 23)."""
    from quickmeet_conformance.probes import ddp as ddp_probe
    from quickmeet_conformance.probes.context import DdpContext
    from quickmeet_conformance.probes.rules import evaluate_probe_rule

    def session(route: str) -> ddp_probe.DdpSession:
        return ddp_probe.DdpSession(
            route,
            f"http://h{route}",
            "raw",
            reached=True,
            http_status=503,
            error="HTTP 503",
            error_kind="http",
        )

    obs = ddp_probe.DdpObservation("http://h", None, None, "", session("/websocket"), session("/sockjs"))
    behind = {"/websocket": "Service r-ddp-streamer: 0 ready endpoint(s) (pods: none)"}
    [finding] = evaluate_probe_rule(DdpContext(obs, backends=behind), ddp_probe.RULE_WEBSOCKET_HANDSHAKE)
    assert finding.failed
    assert finding.message == "/websocket: HTTP 503; behind it: " + behind["/websocket"], finding.message
    [plain] = evaluate_probe_rule(DdpContext(obs), ddp_probe.RULE_WEBSOCKET_HANDSHAKE)
    assert plain.message == "/websocket: HTTP 503"

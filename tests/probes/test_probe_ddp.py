"""The DDP/WebSocket probe through a real nginx in front of the two fake DDP servers.

nginx routes like the chart's Ingress (/websocket and /sockjs -> ddp-streamer, / -> monolith), or
MISROUTED (everything -> monolith), over plain HTTP or TLS with a CA made at test time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import probe_peers as peers
import pytest
from probe_scenarios import judge

from quickmeet_conformance.errors import UserError
from quickmeet_conformance.findings import Finding, Severity, Verdict
from quickmeet_conformance.probes import ddp
from quickmeet_conformance.probes.rules import evaluate_ddp, rules_of_probe

pytestmark = pytest.mark.probes

TLS_HOST = "chat.example.test"  # the Ingress host; dialled at 127.0.0.1 via connect_to
OPTS = ddp.DdpProbeOptions(timeout=3.0)


def report(findings: list[Finding]) -> str:
    return "\n".join(f"{f.verdict.value}: {f.detail()}" for f in findings)


def verdicts(findings: list[Finding]) -> set[Verdict]:
    return {f.verdict for f in findings}


@pytest.fixture(scope="module")
def routed(log_dir: Path, ddp_upstreams) -> Iterator[str]:
    nginx, port = peers.start_nginx(
        log_dir, routes="ingress", ddp_streamer=ddp_upstreams.ddp_streamer, monolith=ddp_upstreams.monolith
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        nginx.stop()


@pytest.fixture(scope="module")
def misrouted(log_dir: Path, ddp_upstreams) -> Iterator[str]:
    nginx, port = peers.start_nginx(
        log_dir, routes="misrouted", ddp_streamer=ddp_upstreams.ddp_streamer, monolith=ddp_upstreams.monolith
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        nginx.stop()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> peers.Certificates:
    return peers.make_certificates(tmp_path_factory.mktemp("pki"), TLS_HOST)


@pytest.fixture(scope="module")
def routed_tls(log_dir: Path, ddp_upstreams, certificates: peers.Certificates) -> Iterator[int]:
    nginx, port = peers.start_nginx(
        log_dir,
        routes="ingress",
        ddp_streamer=ddp_upstreams.ddp_streamer,
        monolith=ddp_upstreams.monolith,
        tls=certificates,
    )
    try:
        yield port
    finally:
        nginx.stop()


@pytest.fixture(scope="module")
def routed_obs(routed: str) -> ddp.DdpObservation:
    return ddp.observe_ddp_sync(routed, OPTS)


@pytest.fixture(scope="module")
def misrouted_obs(misrouted: str) -> ddp.DdpObservation:
    return ddp.observe_ddp_sync(misrouted, OPTS)


# --------------------------------------------------------------------------------- correctly routed


@pytest.mark.parametrize("rule", [r.id for r in rules_of_probe("ws")])
def test_every_ws_rule_passes_through_a_correct_ingress(routed_obs: ddp.DdpObservation, rule: str) -> None:
    findings = judge(rule, routed_obs)
    assert findings and verdicts(findings) == {Verdict.PASS}, report(findings)


def test_correct_ingress_observation_shows_ddp_streamer(routed_obs: ddp.DdpObservation) -> None:
    obs = routed_obs
    assert obs.sockjs_ms is True and obs.sockjs_info_status == 200, dict(obs.sockjs_info or {})
    for session in (obs.websocket, obs.sockjs):
        assert session.connected and session.pong and session.server_id, session
        assert session.session_kind == "uuid" and session.unsupported_version_reply == "connected", session
        assert session.closed_cleanly, f"{session.route} was not closed cleanly"
    assert obs.sockjs.sockjs_open and obs.sockjs.frames[0] == "o", obs.sockjs.frames
    assert obs.sockjs.url.startswith(f"{obs.base_url.replace('http', 'ws')}/sockjs/")
    assert obs.answered_by("/websocket") == obs.answered_by("/sockjs") == ddp.DDP_STREAMER


# ------------------------------------------------------------------------------------------ misrouted


def test_misrouted_ingress_fails_reaches_ddp_streamer(misrouted_obs: ddp.DdpObservation) -> None:
    """Kills ws.reaches-ddp-streamer: the ingress sends /websocket and /sockjs to the monolith."""
    findings = judge(ddp.RULE_REACHES_DDP_STREAMER, misrouted_obs)
    assert [f.verdict for f in findings] == [Verdict.FAIL, Verdict.FAIL], report(findings)
    websocket, sockjs = findings
    assert websocket.message.startswith(
        "the monolith answered /websocket: the ingress routes /websocket to the monolith, not ddp-streamer ("
    ), websocket.message
    assert (
        "is a 17-character Meteor id" in websocket.message
        and "version 99 answered failed" in websocket.message
    )
    assert sockjs.message.startswith(
        "the monolith answered /sockjs: the ingress routes /sockjs to the monolith"
    )
    assert '/sockjs/info has no "ms"' in sockjs.message


def test_misrouted_ingress_still_passes_handshakes(misrouted_obs: ddp.DdpObservation) -> None:
    """The monolith speaks DDP too: the handshake rules pass, only the routing rule catches it."""
    findings = judge(ddp.RULE_WEBSOCKET_HANDSHAKE, misrouted_obs) + judge(
        ddp.RULE_SOCKJS_HANDSHAKE, misrouted_obs
    )
    assert verdicts(findings) == {Verdict.PASS}, report(findings)


def test_ddp_streamer_down_fails_handshakes(log_dir: Path, ddp_upstreams) -> None:
    """Kills ws.websocket-handshake and ws.sockjs-handshake: the ingress is up, ddp-streamer is not (502)."""
    dead = f"127.0.0.1:{peers.free_port()}"
    nginx, port = peers.start_nginx(
        log_dir, routes="ingress", ddp_streamer=dead, monolith=ddp_upstreams.monolith
    )
    try:
        obs = ddp.observe_ddp_sync(f"http://127.0.0.1:{port}", OPTS)
    finally:
        nginx.stop()
    handshakes = judge(ddp.RULE_WEBSOCKET_HANDSHAKE, obs) + judge(ddp.RULE_SOCKJS_HANDSHAKE, obs)
    assert [f.verdict for f in handshakes] == [Verdict.FAIL, Verdict.FAIL], report(handshakes)
    assert "answered HTTP 502, not a WebSocket upgrade" in handshakes[0].message
    routing = judge(ddp.RULE_REACHES_DDP_STREAMER, obs)
    assert {(f.verdict, f.severity) for f in routing} == {(Verdict.FAIL, Severity.WARNING)}, report(routing)
    assert routing[0].message.startswith("could not tell which server answered /websocket")


# ------------------------------------------------------------------------------------------------ TLS


def test_tls_with_ca_bundle_passes(routed_tls: int, certificates: peers.Certificates) -> None:
    """https to the Ingress host name, certificate verified against the CA bundle (SNI = host name)."""
    opts = ddp.DdpProbeOptions(
        timeout=3.0, ca_bundle=str(certificates.ca), connect_to=("127.0.0.1", routed_tls)
    )
    obs = ddp.observe_ddp_sync(f"https://{TLS_HOST}:{routed_tls}", opts)
    findings = evaluate_ddp(obs)
    assert verdicts(findings) == {Verdict.PASS}, report(findings)
    assert obs.websocket.url.startswith(f"wss://{TLS_HOST}:{routed_tls}/websocket")
    assert obs.sockjs_ms is True


def test_tls_with_insecure_flag_passes(routed_tls: int) -> None:
    obs = ddp.observe_ddp_sync(
        f"https://127.0.0.1:{routed_tls}", ddp.DdpProbeOptions(timeout=3.0, insecure=True)
    )
    findings = evaluate_ddp(obs)
    assert verdicts(findings) == {Verdict.PASS}, report(findings)


def test_tls_without_trust_is_an_error(routed_tls: int) -> None:
    """Kills all three ws rules (ERROR, not PASS): the self-signed CA is not trusted and no flag says otherwise."""
    obs = ddp.observe_ddp_sync(f"https://127.0.0.1:{routed_tls}", OPTS)
    findings = evaluate_ddp(obs)
    assert verdicts(findings) == {Verdict.ERROR}, report(findings)
    assert "is not trusted (" in findings[0].message and "CA bundle, or --insecure" in findings[0].message
    assert "certificate" in obs.sockjs_info_error


def test_tls_wrong_host_name_is_an_error(routed_tls: int, certificates: peers.Certificates) -> None:
    """The CA is trusted but the certificate is for another host name: verification still fails."""
    opts = ddp.DdpProbeOptions(
        timeout=3.0, ca_bundle=str(certificates.ca), connect_to=("127.0.0.1", routed_tls)
    )
    obs = ddp.observe_ddp_sync(f"https://other.example.test:{routed_tls}", opts)
    [finding] = judge(ddp.RULE_WEBSOCKET_HANDSHAKE, obs)
    assert finding.verdict is Verdict.ERROR and "not trusted" in finding.message, finding.detail()


# ---------------------------------------------------------------------------------------- unreachable


def test_unreachable_ingress_is_an_error_for_every_rule() -> None:
    """Kills all three ws rules (ERROR): nothing listens at the ingress address."""
    base = f"http://127.0.0.1:{peers.free_port()}"
    obs = ddp.observe_ddp_sync(base, OPTS)
    findings = evaluate_ddp(obs)
    assert verdicts(findings) == {Verdict.ERROR}, report(findings)
    assert (
        findings[0].message
        == f"ws://127.0.0.1:{base.rsplit(':', 1)[1]}/websocket is unreachable (connection refused)"
    )
    assert obs.elapsed < OPTS.timeout, "connection refused must not wait for the timeout"
    assert "unreachable" in obs.sockjs_info_error


def test_silent_server_times_out_within_bounds() -> None:
    """A port that accepts TCP but never answers HTTP: every step ends at its timeout, not later."""
    import socket

    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        base = f"http://127.0.0.1:{mute.getsockname()[1]}"
        obs = ddp.observe_ddp_sync(base, ddp.DdpProbeOptions(timeout=0.5))
    findings = judge(ddp.RULE_WEBSOCKET_HANDSHAKE, obs)
    assert verdicts(findings) == {Verdict.ERROR}, report(findings)
    assert obs.websocket.error_kind == "timeout", obs.websocket
    assert obs.elapsed < 3, f"three 0.5 s steps took {obs.elapsed} s"


# -------------------------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("url", ["ftp://chat.example.com", "chat.example.com", "http://"])
def test_bad_base_url_is_a_user_error(url: str) -> None:
    with pytest.raises(UserError, match="is not an http\\(s\\) URL"):
        asyncio.run(ddp.observe_ddp(url, OPTS))


def test_ca_bundle_and_insecure_together_is_a_user_error() -> None:
    with pytest.raises(UserError, match="either a CA bundle or --insecure"):
        ddp.DdpProbeOptions(ca_bundle="/tmp/ca.pem", insecure=True)


@pytest.mark.parametrize(
    ("session", "kind"),
    [
        ("552b21a6-af3a-485c-aebf-ce8c9b650ed9", "uuid"),
        ("kZ3s8pQ2xYw9AbCdE", "meteor-id"),
        ("", "none"),
        ("abc", "other"),
    ],
)
def test_session_kind(session: str, kind: str) -> None:
    assert ddp.session_kind(session) == kind


def test_sockjs_path_shape() -> None:
    import re

    assert re.fullmatch(r"/sockjs/\d{3}/[a-z0-9]{8}/websocket", ddp.sockjs_path())

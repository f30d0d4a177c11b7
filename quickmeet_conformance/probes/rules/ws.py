"""The DDP/WebSocket probe's rules (lane ``probes``): each judges a
:class:`~quickmeet_conformance.probes.context.DdpContext` (what the probe saw through the ingress on /websocket
and /sockjs).
"""

from __future__ import annotations

from ...findings import Finding, Severity
from ...probes.context import DdpContext
from ...probes.ddp import (
    DDP_STREAMER,
    MONOLITH,
    RULE_REACHES_DDP_STREAMER,
    RULE_SOCKJS_HANDSHAKE,
    RULE_WEBSOCKET_HANDSHAKE,
    DdpSession,
)
from ...rules.engine import Rule
from .lane import errored, failed, passed, probe_rule


def _evidence(s: DdpSession) -> tuple[tuple[str, str], ...]:
    ev = [("url", s.url)]
    if s.frames:
        ev.append(("frames", " | ".join(s.frames[:6])))
    return tuple(ev)


def _handshake(ctx: DdpContext, route: str, r: Rule) -> list[Finding]:
    obs = ctx.observation
    s = obs.route(route)
    behind = f"; behind it: {ctx.backends[route]}" if route in ctx.backends else ""
    if not s.reached:
        return [
            errored(
                r,
                (s.error or f"{s.url} is unreachable") + behind,
                expected="a WebSocket upgrade",
                found=s.error_kind or "no connection",
                resource=s.url,
            )
        ]
    missing = []
    if s.framing == "sockjs" and not s.sockjs_open:
        missing.append('SockJS open frame "o"')
    if not s.connected:
        missing.append('{"msg":"connected","session":...}')
    elif not s.pong:
        missing.append('{"msg":"pong","id":"x"}')
    if not missing and not s.error:
        note = "" if s.server_id else " (no server_id frame before connected)"
        return [
            passed(
                r,
                f"{route}: DDP connect answered connected (session {s.session}) and ping answered pong{note}",
            )
        ]
    return [
        failed(
            r,
            f"{route}: {s.error or 'DDP handshake incomplete'}{behind}",
            expected="; ".join(missing) or "a complete DDP handshake",
            found=s.error or "incomplete",
            resource=s.url,
            evidence=_evidence(s),
        )
    ]


@probe_rule(
    RULE_WEBSOCKET_HANDSHAKE,
    title="raw DDP on /websocket: server_id, connect -> connected, ping -> pong",
    contract="CONTRACT.md > ddp-streamer on the wire: /websocket is raw DDP; connect -> connected",
    fix="route /websocket (Prefix) to the ddp-streamer Service port http and allow WebSocket upgrades",
    basis="server code",
)
def websocket_handshake(ctx: DdpContext, r: Rule) -> list[Finding]:
    """Raw DDP on /websocket: server_id, connect -> connected, ping -> pong (CONTRACT.md > ddp-streamer on the wire)."""
    return _handshake(ctx, "/websocket", r)


@probe_rule(
    RULE_SOCKJS_HANDSHAKE,
    title='SockJS on /sockjs/...: "o", a["..."] frames, connect -> connected',
    contract='CONTRACT.md > ddp-streamer on the wire: /sockjs/... uses SockJS framing (o, then a["..."])',
    fix="route /sockjs (Prefix) to the ddp-streamer Service port http and allow WebSocket upgrades",
    basis="server code",
)
def sockjs_handshake(ctx: DdpContext, r: Rule) -> list[Finding]:
    """SockJS framing on /sockjs/<n>/<id>/websocket: "o", a["..."] frames, connect -> connected, ping -> pong
    (CONTRACT.md > ddp-streamer on the wire)."""
    return _handshake(ctx, "/sockjs", r)


@probe_rule(
    RULE_REACHES_DDP_STREAMER,
    title="/websocket and /sockjs reach ddp-streamer, not the monolith",
    contract="CONTRACT.md > Wiring: Ingress /websocket and /sockjs (Prefix) -> ddp-streamer Service, port http",
    fix="point the ingress paths /websocket and /sockjs at <release>-ddp-streamer, port http (3000)",
)
def reaches_ddp_streamer(ctx: DdpContext, r: Rule) -> list[Finding]:
    """/websocket and /sockjs reach ddp-streamer, not the monolith (CONTRACT.md > Wiring: Ingress; > ddp-streamer
    on the wire: UUID sessions, "ms": true, connected on any version)."""
    obs = ctx.observation
    findings = []
    for route in ("/websocket", "/sockjs"):
        s = obs.route(route)
        signals = obs.signals(route)
        evidence = tuple(("signal", f"{text} -> {server}") for text, server in signals) + _evidence(s)
        if not s.reached:
            findings.append(
                errored(
                    r,
                    f"not checked: {s.error or s.url + ' is unreachable'}",
                    resource=s.url,
                )
            )
            continue
        who = obs.answered_by(route)
        said = "; ".join(text for text, _ in signals) or "no signal"
        if who == DDP_STREAMER:
            findings.append(passed(r, f"ddp-streamer answered {route} ({said})"))
        elif who == MONOLITH:
            findings.append(
                failed(
                    r,
                    (
                        f"the monolith answered {route}: the ingress routes {route} to the monolith, not "
                        f"ddp-streamer ({said})"
                    ),
                    expected=f"{route} (Prefix) -> the ddp-streamer Service, port http",
                    found=f"monolith ({said})",
                    resource=s.url,
                    evidence=evidence,
                )
            )
        else:
            # Deliberately a WARNING although the rule is declared an error (above): no
            # signal, or signals that disagree, say who answered, which shows no misroute. It is what a route
            # whose handshake already failed gives (ddp-streamer down, the ingress answering 502), and the
            # handshake rules fail that as errors: one fault does not fail the run twice, and an answer that
            # cannot be identified fails only a strict run.
            findings.append(
                failed(
                    r,
                    f"could not tell which server answered {route} ({said}{'; ' + s.error if s.error else ''})",
                    expected="ddp-streamer (UUID session, connected on version 99)",
                    severity=Severity.WARNING,
                    found="unidentified",
                    resource=s.url,
                    evidence=evidence,
                )
            )
    return findings

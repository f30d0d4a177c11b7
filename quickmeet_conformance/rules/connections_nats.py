"""Connections to NATS, client against server: the NATS client reads TRANSPORTER, and the release's own
nats-server, run by the static lane with the rendered configuration, accepts exactly what it presents.

The rule never starts the server: the lane did (connections/nats_judge.py) when the configuration holds
something that decides who may connect (authorization, accounts, operator/resolver, no_auth_user), and
the rule judges that observation. TLS, included files or no nats-server on the machine: "not judged".
"""

from __future__ import annotations

from collections.abc import Iterable

from ..connections.model import Connections, NatsClient
from ..findings import Finding
from .connections import CONTRACT, fail_at, on_connections, refusals
from .context import RenderedContext
from .engine import Rule, rule


@rule(
    "connections.nats-url-parses",
    title="Every TRANSPORTER is a URL the NATS client accepts",
    contract=f"{CONTRACT}: a client presents them in the URL (`nats://user:password@host:4222`, "
    "`nats://token@host:4222`)",
    fix="write TRANSPORTER as nats://[user:password@|token@]host:port (tls:// for TLS)",
    basis="client code (the NATS clients' URL rules)",
)
@on_connections
def rule_nats_url_parses(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    return refusals(
        r,
        ctx,
        conns.nats,
        lambda client: (
            f"the NATS client refuses TRANSPORTER ({client.part}): {client.source.describe}",
            "nats://[user:password@|token@]host[:4222]",
            client.error,
        ),
    )


@rule(
    "connections.nats-credentials",
    title="The release's NATS server accepts the credentials TRANSPORTER presents",
    contract=f"{CONTRACT}: a server whose configuration has an `authorization` block (users, token) or accounts "
    'refuses a client that presents no matching credentials ("Authorization Violation")',
    fix="put credentials the NATS server accepts into TRANSPORTER (nats.existingSecret with "
    "nats://user:password@host:4222), or remove the server's authorization",
    basis="server behaviour (the release's configuration run by nats-server)",
)
@on_connections
def rule_nats_credentials(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    servers = {s.workload: s for s in conns.nats_servers}
    for client in conns.nats:
        if not isinstance(client, NatsClient) or client.error:
            continue
        server = servers.get(client.server)
        if client.unjudged:
            yield r.skip(
                f"not judged: TRANSPORTER of {', '.join(client.source.workloads)}: {client.unjudged}"
            )
        elif client.verdict is not None and not client.verdict.accepted:
            guarded = ", ".join(server.features) if server else "its configuration"
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.server} refuses the TRANSPORTER of {', '.join(client.source.workloads)}: the server "
                f"run with the release's {server.config if server else 'configuration'} answered "
                f"{client.verdict.detail!r}",
                expected=f"credentials the server's {guarded} accepts",
                found=f"TRANSPORTER presents {client.credentials} ({client.source.origin})",
            )

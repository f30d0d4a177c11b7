"""Connections to MongoDB, client against server: the driver parses each URL, its hosts are Services of
the release, and the bundled MongoDB has the account, database and replica set the URL asks for.

The static lane gathers the observation (connections/gather.py): each distinct ``MONGO_URL`` /
``MONGO_OPLOG_URL`` as pymongo read it, its hosts resolved, and the bundled MongoDB's accounts read from
the subchart's env and Secrets. A connection the lane cannot read (a Secret created outside the release,
a host outside it) is "not judged" with the reason: a skip, never an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..connections.model import (
    Connections,
    MongoClient,
    MongoServer,
    MongoUser,
    NatsClient,
    Source,
    Unjudged,
)
from ..findings import Finding, Verdict
from .context import RenderedContext
from .engine import Rule, rule

CONTRACT = "CONTRACT.md > Connections: what each client presents and what its server accepts"
NOT_GATHERED = "not judged: the connections were not gathered (no rendered release in this lane)"


def observed(ctx: RenderedContext, r: Rule) -> Connections | Finding:
    """The case's connections, or the finding that says why there are none."""
    if ctx.connections is None:
        return r.skip(NOT_GATHERED)
    if ctx.connections.error:
        return Finding(
            r.id,
            Verdict.ERROR,
            f"internal error while gathering connections: {ctx.connections.error}; please report it",
        )
    return ctx.connections


ConnectionsCheck = Callable[[RenderedContext, Rule, Connections], Iterable[Finding]]


def on_connections(judge: ConnectionsCheck) -> Callable[[RenderedContext, Rule], Iterable[Finding]]:
    """The rule check that runs ``judge`` on the case's connections, or yields the finding that says why
    there are none (functools.wraps keeps the rule's own module and name)."""

    @functools.wraps(judge)
    def check(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
        conns = observed(ctx, r)
        return [conns] if isinstance(conns, Finding) else judge(ctx, r, conns)

    return check


def refusals(
    r: Rule,
    ctx: RenderedContext,
    clients: Sequence[MongoClient | NatsClient | Unjudged],
    refused: Callable[[MongoClient | NatsClient], tuple[str, str, str]],
) -> Iterator[Finding]:
    """A skip for each client the lane could not read, and a failure for each URL its client refuses:
    ``refused`` gives that failure's (message, expected, found)."""
    for client in clients:
        if isinstance(client, Unjudged):
            yield r.skip(f"not judged: {client.source.describe}: {client.reason}")
        elif client.error:
            message, expected, found = refused(client)
            yield fail_at(r, ctx, client.source, message, expected=expected, found=found)


def fail_at(
    r: Rule,
    ctx: RenderedContext,
    source: Source,
    message: str,
    *,
    expected: str,
    found: str,
    keys: tuple[str, ...] | None = None,
) -> Finding:
    """A failure about ``source``, located at the values key that builds it (``keys``, default the keys
    holding the URL or its part at fault), else at its Secret or workload."""
    keys = source.values_keys if keys is None else keys
    if keys:
        return r.fail(
            ctx, message, expected=expected, found=found, key_path=keys[0], resource=_resource(source)
        )
    return r.fail(
        ctx,
        message,
        expected=expected,
        found=found,
        resource=_resource(source),
        field_path=f"env[{source.env}]",
    )


def _resource(source: Source) -> str:
    return f"Secret/{source.secret}" if source.secret else source.workloads[0]


def _placement_keys(ctx: RenderedContext, source: Source, server: MongoServer | None) -> tuple[str, ...]:
    """Where a host or replica-set finding points: the values key holding the whole URL, else the bundled
    MongoDB's architecture when the values file sets it, else nowhere in the values (the Secret)."""
    if source.url_keys:
        return source.url_keys
    if server is not None and ctx.values_file.get("mongodb.architecture") is not None:
        return ("mongodb.architecture",)
    return ()


def _clients(conns: Connections) -> Iterator[MongoClient]:
    return (c for c in conns.mongo if isinstance(c, MongoClient) and not c.error)


@rule(
    "connections.mongo-url-parses",
    title="Every MongoDB connection string is one the driver accepts",
    contract=f"{CONTRACT}: user name and password are percent-encoded (`: / ? # [ ] @` and `%` must be "
    "escaped); the Node.js driver Rocket.Chat uses refuses an unescaped one (MongoParseError) and the service "
    "never starts",
    fix="where the chart builds the URL from mongodb.auth.passwords (pasted unescaped, and the server gets the "
    "same text), choose a password without ': / ? # [ ] @ %'; in a URL of your own (externalMongodbUrl, "
    "existingMongodbSecret) percent-encode them (urllib.parse.quote_plus)",
    basis="client code (pymongo's URI parser)",
)
@on_connections
def rule_mongo_url_parses(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    return refusals(
        r,
        ctx,
        conns.mongo,
        lambda client: (
            f"the MongoDB driver refuses {client.source.env} ({client.part}): {client.source.describe}",
            "a connection string the driver parses (mongodb:// or mongodb+srv://), "
            "its user name and password with ': / ? # [ ] @ %' percent-encoded",
            f"{client.error} [{client.part}]",
        ),
    )


def server_of(conns: Connections, client: MongoClient) -> MongoServer | None:
    """The bundled MongoDB the client's hosts lead to; when a host names a Service of the release that is
    not rendered, the release's only MongoDB (the chart built the host for another architecture)."""
    for host in client.hosts:
        for server in conns.mongo_servers:
            if server.workload in host.workloads:
                return server
    if any(h.missing for h in client.hosts) and len(conns.mongo_servers) == 1:
        return conns.mongo_servers[0]
    return None


def _served(conns: Connections) -> Iterator[tuple[MongoClient, MongoServer]]:
    """The parsed MongoDB clients whose server is the bundled MongoDB, with that server."""
    for client in _clients(conns):
        server = server_of(conns, client)
        if server is not None:
            yield client, server


@rule(
    "connections.mongo-host",
    title="Every MongoDB host of the release's own name is a Service of the release that leads to MongoDB",
    contract=f"{CONTRACT}: `architecture: replicaset` serves through `<release>-mongodb-headless`; "
    "`architecture: standalone` serves through `<release>-mongodb`",
    fix="point the URL at a Service the release renders (the bundled MongoDB's Services are named in the "
    "finding), or keep the architecture the chart builds its URL for",
    basis="chart behaviour",
)
@on_connections
def rule_mongo_host(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    mongo_refs = {s.workload for s in conns.mongo_servers}
    served = ", ".join(f"Service/{name}" for s in conns.mongo_servers for name in s.services) or "none"
    for client in _clients(conns):
        server = server_of(conns, client)
        for host in client.hosts:
            service = ctx.topology.service(host.service) if host.service else None
            if host.outside or (service is not None and not service.selector):
                yield r.skip(
                    f"not judged: {client.source.env} host {host.host}:{host.port} is outside the release"
                )
            elif host.missing:
                yield fail_at(
                    r,
                    ctx,
                    client.source,
                    f"{client.source.env} names host {host.host}, a Service of this release's name that the "
                    f"render does not contain: {client.source.describe}",
                    expected=f"a Service the release renders (the bundled MongoDB's: {served})",
                    found=host.describe,
                    keys=_placement_keys(ctx, client.source, server),
                )
            elif not host.port_exposed:
                yield fail_at(
                    r,
                    ctx,
                    client.source,
                    f"{client.source.env} dials port {host.port}, which Service/{host.service} does not expose",
                    expected=f"a port of Service/{host.service}",
                    found=host.describe,
                    keys=_placement_keys(ctx, client.source, server),
                )
            elif mongo_refs and not set(host.workloads) & mongo_refs:
                yield fail_at(
                    r,
                    ctx,
                    client.source,
                    f"{client.source.env} host {host.host} leads to no MongoDB pods",
                    expected=f"a Service selecting {', '.join(sorted(mongo_refs))}",
                    found=host.describe,
                    keys=_placement_keys(ctx, client.source, server),
                )


def _account(server: MongoServer, name: str | None) -> list[MongoUser]:
    accounts = [*server.users, *([server.root] if server.root else [])]
    return [a for a in accounts if a.name == name]


@rule(
    "connections.mongo-credentials",
    title="The MongoDB URL's user, password and database are an account of the bundled MongoDB",
    contract=f"{CONTRACT}: it creates the application user from the first entries of `mongodb.auth.usernames` "
    "/ `passwords` / `databases` (the same entries the rocketchat chart puts into `MONGO_URL`)",
    fix="use the user, password and database the bundled MongoDB creates (mongodb.auth.usernames / passwords / "
    "databases, same index), or authSource=admin for the root user",
    basis="server code (the bitnami image's account set-up)",
)
@on_connections
def rule_mongo_credentials(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    for client, server in _served(conns):
        accounts = [*server.users, *([server.root] if server.root else [])]
        if not accounts:
            continue  # a server without authentication accepts any client
        if client.username is None:
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} carries no credentials, but {server.workload} requires them",
                expected=f"one of the accounts {', '.join(a.name for a in accounts)}",
                found="no user name",
            )
            continue
        matches = _account(server, client.username)
        if not matches:
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} logs in as {client.username!r}, which {server.workload} never creates",
                expected=f"one of the accounts {', '.join(repr(a.name) for a in accounts)}",
                found=f"user {client.username!r}: {client.source.describe}",
            )
            continue
        in_db = [a for a in matches if a.database == client.effective_auth_db]
        if not in_db:
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} authenticates {client.username!r} against database "
                f"{client.effective_auth_db!r}, but {server.workload} creates that user in "
                f"{', '.join(repr(a.database) for a in matches)}",
                expected=f"authSource={matches[0].database} (or that database in the URL's path)",
                found=f"authSource={client.auth_source or '(unset)'}, database={client.database or '(unset)'}",
            )
            continue
        known = [a for a in in_db if a.password is not None]
        if not known:
            yield r.skip(
                f"not judged: the password of {client.username!r} is not in the render ({server.unknown})"
            )
        elif not any(a.password in (client.password, client.node_password) for a in known):
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} presents a password for {client.username!r} that differs from the one "
                f"{server.workload} was given: {client.source.describe}",
                expected="the password of the bundled MongoDB's account (mongodb.auth.passwords at the user's "
                "index, from the subchart's Secret)",
                found="another password (hidden)",
            )


@rule(
    "connections.mongo-replica-set",
    title="The MongoDB URL's replica set is the bundled MongoDB's, and that MongoDB is a replica set",
    contract=f"{CONTRACT}: `replicaSet=<name>` must name the server's replica set; Rocket.Chat needs a replica "
    "set (change streams), not a standalone server",
    fix="keep mongodb.architecture: replicaset and put its replicaSetName (default rs0) in the URL's "
    "replicaSet option",
    basis="doc",
)
@on_connections
def rule_mongo_replica_set(ctx: RenderedContext, r: Rule, conns: Connections) -> Iterable[Finding]:
    for client, server in _served(conns):
        if server.architecture == "standalone":
            asked = f"replicaSet={client.replica_set}" if client.replica_set else "no replicaSet"
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} connects to {server.workload}, a standalone MongoDB "
                f"(architecture: standalone): Rocket.Chat needs a replica set"
                + (
                    f", and the driver waits for replica set {client.replica_set!r} (server selection times out)"
                    if client.replica_set
                    else ""
                ),
                expected="a replica set (mongodb.architecture: replicaset)",
                found=f"standalone server; URL asks for {asked}",
                keys=_placement_keys(ctx, client.source, server),
            )
        elif client.replica_set and client.replica_set != server.replica_set:
            yield fail_at(
                r,
                ctx,
                client.source,
                f"{client.source.env} asks for replica set {client.replica_set!r}, but {server.workload} runs "
                f"replica set {server.replica_set!r}: the driver finds no member and never connects",
                expected=f"replicaSet={server.replica_set}",
                found=f"replicaSet={client.replica_set}",
                keys=_placement_keys(ctx, client.source, server),
            )

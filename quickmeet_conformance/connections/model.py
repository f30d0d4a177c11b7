"""The observation of a release's connections, as data: what rules read (no process, no parser here).

Secrets stay inside these objects (a password is compared, never formatted): every field a message may
quote is marked safe in its docstring; ``password`` and ``token`` fields are excluded from ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """Where a connection value comes from: the env var of the workloads that read it, and what builds it."""

    env: str  # MONGO_URL, MONGO_OPLOG_URL, TRANSPORTER
    workloads: tuple[str, ...]  # "Deployment/x" of every workload reading this same value
    secret: str | None = None  # the Secret and key of a secretKeyRef (None: a literal env value)
    secret_key: str | None = None
    values_keys: tuple[str, ...] = ()  # values key paths whose value is the URL or the part at fault
    url_keys: tuple[str, ...] = ()  # values key paths whose value is the whole URL (externalMongodbUrl)

    @property
    def origin(self) -> str:
        """Safe to print: what builds the value (names, never the value)."""
        where = f"Secret {self.secret} key {self.secret_key}" if self.secret else "a literal env value"
        built = f" (from values {', '.join(self.values_keys)})" if self.values_keys else ""
        return where + built

    @property
    def describe(self) -> str:
        """Safe to print: who reads it and what builds it."""
        return f"{self.env} of {', '.join(self.workloads)}: {self.origin}"


@dataclass(frozen=True)
class HostResolution:
    """Where one host:port of a connection leads inside the release (safe to print)."""

    host: str
    port: int
    service: str | None = None  # the release's Service the host names
    port_exposed: bool = False  # the Service exposes that port
    workloads: tuple[str, ...] = ()  # workloads whose pods the Service selects
    outside: bool = False  # not a name of this release's cluster DNS: not judged
    missing: bool = False  # named like a Service of this release (<release>-...), which it does not render

    @property
    def describe(self) -> str:
        if self.outside:
            return f"{self.host}:{self.port} (outside the release)"
        if self.service is None:
            return f"{self.host}:{self.port} (no such Service in the release)"
        pods = ", ".join(self.workloads) or "no pods"
        return f"{self.host}:{self.port} -> Service/{self.service} -> {pods}"


@dataclass(frozen=True)
class Unjudged:
    """A connection the lane cannot judge, and why (an external Secret, a host outside the release)."""

    source: Source
    reason: str


@dataclass(frozen=True)
class MongoClient:
    """A MongoDB connection string as the driver read it; ``error`` when the driver rejects it."""

    source: Source
    error: str = ""  # the driver's message (it quotes no credential), "" when it parsed
    part: str = ""  # the part at fault: scheme, user name, password, host, database, option <name>
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # the password as the Node.js driver decodes it (percent-decoding only: pymongo also turns '+' into a
    # space); a password matches the server's when either reading does
    node_password: str | None = field(default=None, repr=False)
    database: str | None = None
    auth_source: str | None = None  # authSource option (None: the URI's database, else admin)
    replica_set: str | None = None
    srv: bool = False
    hosts: tuple[HostResolution, ...] = ()

    @property
    def effective_auth_db(self) -> str:
        """Where the driver authenticates the user: authSource, else the URI's database, else admin."""
        return self.auth_source or self.database or "admin"


@dataclass(frozen=True)
class MongoUser:
    name: str
    database: str
    password: str | None = field(default=None, repr=False)  # None: the render does not hold it


@dataclass(frozen=True)
class MongoServer:
    """The bundled MongoDB as its rendered workload configures it (bitnami env and Secrets)."""

    workload: str  # "StatefulSet/rocketchat-mongodb"
    architecture: str  # "replicaset" or "standalone"
    replica_set: str | None
    users: tuple[MongoUser, ...]
    root: MongoUser | None
    services: tuple[str, ...]  # the release's Services that select its pods
    unknown: str = ""  # why some passwords are not in the render (an existing Secret), "" when all are


class NotJudged(Exception):
    """The real server could not be asked (no nats-server or nats-py, or the configuration does not start)."""


@dataclass(frozen=True)
class NatsVerdict:
    """What the real server said to a client presenting exactly the URL's credentials."""

    accepted: bool
    detail: str  # the client's error or the server's log line (credentials redacted by the caller)


@dataclass(frozen=True)
class NatsClient:
    """A NATS URL as the NATS clients read it; ``error`` when they reject it."""

    source: Source
    error: str = ""
    part: str = ""
    scheme: str = ""  # nats, tls, ws, wss (monolith+ removed)
    url: str = field(default="", repr=False)  # the URL a client dials, credentials included: never printed
    user: str | None = None
    has_password: bool = False
    has_token: bool = False
    host: HostResolution | None = None
    server: str = ""  # the NATS workload the host leads to ("" when none of the release's)
    verdict: NatsVerdict | None = None  # the real server's answer (None: not asked)
    unjudged: str = ""  # why the server was not asked although the host leads to it

    @property
    def credentials(self) -> str:
        """Safe to print: what kind of credentials the URL carries."""
        if self.has_token:
            return "a token"
        if self.user is not None:
            return f"user {self.user!r} with a password" if self.has_password else f"user {self.user!r}"
        return "no credentials"


@dataclass(frozen=True)
class NatsServer:
    """The release's NATS server configuration and what in it decides who may connect."""

    workload: str
    config: str  # "ConfigMap/<name> key <key>"
    features: tuple[str, ...]  # authorization, accounts, tls, nkeys, operator, no_auth_user
    unjudged: str = ""  # why the real server cannot be asked ("" when it can, or nothing needs asking)

    @property
    def guarded(self) -> bool:
        return any(f != "tls" for f in self.features)


@dataclass(frozen=True)
class Connections:
    """Every connection of one rendered case."""

    release: str
    mongo: tuple[MongoClient | Unjudged, ...] = ()
    mongo_servers: tuple[MongoServer, ...] = ()
    nats: tuple[NatsClient | Unjudged, ...] = ()
    nats_servers: tuple[NatsServer, ...] = ()
    error: str = ""  # the gathering itself failed (a bug): the rules report it, never a pass

"""The bundled MongoDB of a release as its rendered workload configures it (the bitnami image's env).

The bitnami ``mongodb`` image creates its accounts from env at first start: the root user
(``MONGODB_ROOT_USER``, default ``root``, password ``MONGODB_ROOT_PASSWORD``, in ``admin``), and one user
per entry of the comma-separated ``MONGODB_EXTRA_USERNAMES`` / ``MONGODB_EXTRA_PASSWORDS`` /
``MONGODB_EXTRA_DATABASES`` (the user at index i lives in database i), or the single
``MONGODB_USERNAME`` / ``MONGODB_PASSWORD`` / ``MONGODB_DATABASE`` of older charts. A replica set is
configured by ``MONGODB_REPLICA_SET_MODE`` / ``MONGODB_REPLICA_SET_NAME``; without them the server is
standalone and has no replica set. Passwords come from the subchart's Secret; one the render does not hold
(``auth.existingSecret``) leaves the passwords unknown, never guessed.
"""

from __future__ import annotations

from ..topology import MONGODB, ComponentMatcher, Container, Topology, Workload
from .model import MongoServer, MongoUser
from .sources import read_env


def _env(topology: Topology, container: Container, name: str) -> tuple[str | None, str]:
    var = container.env_var(name)
    if var is None:
        return None, ""
    return read_env(topology, var)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",")] if value else []


def read_server(topology: Topology, workload: Workload, matcher: ComponentMatcher) -> MongoServer:
    container = workload.container_of(MONGODB, matcher)
    unknown: list[str] = []

    def value(name: str) -> str | None:
        found, why = _env(topology, container, name)
        if why:
            unknown.append(f"{name}: {why}")
        return found

    names = _split(value("MONGODB_EXTRA_USERNAMES")) or _split(value("MONGODB_USERNAME"))
    databases = _split(value("MONGODB_EXTRA_DATABASES")) or _split(value("MONGODB_DATABASE"))
    passwords_raw = value("MONGODB_EXTRA_PASSWORDS")
    if passwords_raw is None:
        passwords_raw = value("MONGODB_PASSWORD")
    passwords = _split(passwords_raw) if passwords_raw is not None else []
    users = tuple(
        MongoUser(
            name,
            databases[i] if i < len(databases) else "admin",
            passwords[i] if passwords_raw is not None and i < len(passwords) else None,
        )
        for i, name in enumerate(names)
    )
    root_password = value("MONGODB_ROOT_PASSWORD")
    root_name = value("MONGODB_ROOT_USER") or "root"
    root = (
        MongoUser(root_name, "admin", root_password) if container.env_var("MONGODB_ROOT_PASSWORD") else None
    )
    replica_set = value("MONGODB_REPLICA_SET_NAME")
    mode = container.env_var("MONGODB_REPLICA_SET_MODE")
    architecture = "replicaset" if (replica_set or mode is not None) else "standalone"
    services = tuple(s.name for s in topology.services if workload in topology.workloads_selected_by(s))
    return MongoServer(
        workload=workload.ref,
        architecture=architecture,
        replica_set=replica_set
        or (None if architecture == "standalone" else "replicaset"),  # the image default
        users=users,
        root=root,
        services=services,
        unknown="; ".join(unknown),
    )


def read_servers(topology: Topology, matcher: ComponentMatcher) -> tuple[MongoServer, ...]:
    return tuple(read_server(topology, w, matcher) for w in topology.components(MONGODB))

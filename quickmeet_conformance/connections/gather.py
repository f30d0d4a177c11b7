"""Gather the connections of one rendered case: the static lane's one step for :mod:`rules.connections`.

For every workload env var that names a backend (``MONGO_URL``, ``MONGO_OPLOG_URL``, ``TRANSPORTER``): the
value as the kubelet gives it, read by the client's own rules, its hosts resolved to the release's
Services; the bundled MongoDB's accounts; each NATS server's configuration and, where that configuration
decides who may connect, the real server's answer to each client (:mod:`.nats_judge`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from ..topology import NATS, ComponentMatcher, Topology, Workload
from . import mongo_uri, nats_url
from .hosts import resolve
from .model import (
    Connections,
    MongoClient,
    NatsClient,
    NatsServer,
    NatsVerdict,
    NotJudged,
    Source,
    Unjudged,
)
from .mongo_server import read_servers
from .nats_config import env_references, features, includes, local_config, rendered_config
from .sources import EnvValue, env_values, keys_holding, read_env

MONGO_ENVS = ("MONGO_URL", "MONGO_OPLOG_URL")
Judge = Callable[[str, list[nats_url.NatsUrl], dict[str, str]], list[NatsVerdict]]
ServerConf = tuple[NatsServer, str, dict[str, str]]  # what it holds, nats.conf, the env it reads


def _userinfo(uri: str) -> tuple[str | None, str | None]:
    """(user, password) as written in ``uri`` (escaped or not), for finding the values key that holds them."""
    rest = uri.split("://", 1)[-1].split("?", 1)[0]
    if "@" not in rest:
        return None, None
    user, _, password = rest.rpartition("@")[0].partition(":")
    return user or None, password or None


def _source(found: EnvValue, values: Any, *parts: str | None) -> Source:
    return Source(
        found.env,
        found.workloads,
        found.secret,
        found.secret_key,
        keys_holding(values, found.value, *parts),
        keys_holding(values, found.value),
    )


def _mongo(topology: Topology, values: Any, release: str, namespace: str) -> list[MongoClient | Unjudged]:
    found: list[MongoClient | Unjudged] = []
    for env in MONGO_ENVS:
        for value in env_values(topology, topology.workloads, env):
            if value.value is None:
                found.append(Unjudged(_source(value, values), value.unreadable))
                continue
            user, password = _userinfo(value.value)
            parsed = mongo_uri.parse(value.value)
            if parsed.error:
                part = mongo_uri.part_at_fault(value.value, parsed.error)
                focus = password if part.startswith("password") else user if part.startswith("user") else None
                source = _source(value, values, focus)
                found.append(MongoClient(source, error=parsed.error, part=part))
                continue
            options = parsed.options
            found.append(
                MongoClient(
                    _source(value, values, parsed.password, password, parsed.username),
                    username=parsed.username,
                    password=parsed.password,
                    node_password=unquote(password) if password is not None else None,
                    database=parsed.database,
                    auth_source=options.get("authsource"),
                    replica_set=options.get("replicaset"),
                    srv=parsed.srv,
                    hosts=tuple(
                        resolve(host, port, topology, release, namespace) for host, port in parsed.nodes
                    ),
                )
            )
    return found


def _server_env(
    topology: Topology, workload: Workload, matcher: ComponentMatcher, conf: str
) -> tuple[dict[str, str], str]:
    """The values of the ``$NAME`` references the local server still reads (in its authorization or accounts),
    from the NATS container's env as the render gives it; or why one cannot be read."""
    container = workload.container_of(NATS, matcher)
    env: dict[str, str] = {}
    for name in env_references(local_config(conf, 0)):
        same = [v for v in container.env if v.name == name]
        value, why = read_env(topology, same[-1]) if same else (None, "the container does not set it")
        if value is None:
            return {}, f"the configuration reads ${name}, which cannot be read from the render ({why})"
        env[name] = value
    return env, ""


def _nats_servers(topology: Topology, matcher: ComponentMatcher) -> dict[str, ServerConf]:
    """NATS workload ref -> (what its configuration holds, the configuration text, the env it reads)."""
    servers: dict[str, ServerConf] = {}
    for workload in topology.components(NATS):
        config = rendered_config(topology, workload, matcher)
        if config is None:
            why = "no nats.conf is mounted from a ConfigMap of the release"
            servers[workload.ref] = (NatsServer(workload.ref, "", (), why), "", {})
            continue
        held = features(config.text)
        env, why = _server_env(topology, workload, matcher, config.text)
        if includes(config.text):
            why = "the configuration includes files the render does not hold"
        elif "tls" in held:
            why = "the client port requires TLS with certificate files the render does not hold"
        servers[workload.ref] = (NatsServer(workload.ref, config.where, held, why), config.text, env)
    return servers


def _nats(
    topology: Topology, values: Any, release: str, namespace: str, servers: dict[str, ServerConf]
) -> list[NatsClient | Unjudged]:
    found: list[NatsClient | Unjudged] = []
    for value in env_values(topology, topology.workloads, "TRANSPORTER"):
        if value.value is None:
            found.append(Unjudged(_source(value, values), value.unreadable))
            continue
        url = nats_url.read(value.value)
        if url.error:
            found.append(NatsClient(_source(value, values), error=url.error, part=url.part))
            continue
        host = resolve(url.host, url.port, topology, release, namespace)
        server = next((ref for ref in host.workloads if ref in servers), "")
        found.append(
            NatsClient(
                _source(value, values, url.password, url.token, url.user),
                scheme=url.scheme,
                url=url.url,
                user=url.user,
                has_password=url.password is not None,
                has_token=url.token is not None,
                host=host,
                server=server,
            )
        )
    return found


def _judged(
    clients: list[NatsClient | Unjudged], servers: dict[str, ServerConf], judge: Judge | None
) -> list[NatsClient | Unjudged]:
    """Each client whose server's configuration guards the door, with the real server's verdict."""
    result = list(clients)
    for ref, (server, text, env) in servers.items():
        asking = {
            i: c
            for i, c in enumerate(result)
            if isinstance(c, NatsClient) and c.server == ref and not c.error
        }
        if not asking or not server.guarded:
            continue
        why = server.unjudged or ("" if judge is not None else "the real server is not run in this lane")
        if not why and judge is not None:
            try:
                verdicts = judge(text, [nats_url.read(c.url) for c in asking.values()], env)
            except NotJudged as exc:
                why = str(exc)
            else:
                for (i, client), verdict in zip(asking.items(), verdicts, strict=True):
                    result[i] = replace(client, verdict=verdict)
                continue
        for i, client in asking.items():
            result[i] = replace(client, unjudged=why)
    return result


def gather(
    topology: Topology,
    values: Any,
    *,
    release: str,
    namespace: str,
    matcher: ComponentMatcher,
    judge: Judge | None = None,
) -> Connections:
    """The connections of one rendered case. ``values`` is the user's values file (to name the key that
    builds a value); ``judge`` asks the real NATS server (None: not asked, the clients say why)."""
    servers = _nats_servers(topology, matcher)
    return Connections(
        release=release,
        mongo=tuple(_mongo(topology, values, release, namespace)),
        mongo_servers=read_servers(topology, matcher),
        nats=tuple(_judged(_nats(topology, values, release, namespace, servers), servers, judge)),
        nats_servers=tuple(server for server, _, _ in servers.values()),
    )

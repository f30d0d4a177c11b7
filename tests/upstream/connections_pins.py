"""What the connections rules (rules/connections*.py) find on the fifteen released charts, and why each is true.

Values: fixtures/upstream-readme/<version>/ (each version's README install values: ``default`` = the bundled
MongoDB with the two passwords the README's values-file example sets, ``microservices`` = the same with
microservices.enabled, and 5.3.2's ``readme-openssl`` = the install command of that README, whose
``openssl rand -base64 32`` passwords hold '/' and '+'), and fixtures/upstream/<version>/ (external MongoDB,
where the connections are "not judged": the hosts are outside the release).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from upstream_charts import REPO, UPSTREAM_DIR

README_VALUES_DIR = REPO / "fixtures" / "upstream-readme"
EXTERNAL_VALUES_DIR = REPO / "fixtures" / "upstream"


def all_versions() -> list[str]:
    """Every released version beside the repository (../shared/upstream-charts), oldest first."""
    found = [p.name.removeprefix("rocketchat-") for p in UPSTREAM_DIR.glob("rocketchat-*") if p.is_dir()]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def connection_cases() -> list[tuple[str, Path]]:
    """(version, values file) of every values file written for a released version."""
    cases = []
    for version in all_versions():
        for folder in (README_VALUES_DIR, EXTERNAL_VALUES_DIR):
            cases += [(version, path) for path in sorted((folder / version).glob("*.yaml"))]
    return cases


@dataclass(frozen=True)
class Pin:
    version: str
    values: str  # values file stem
    rule: str
    severity: str
    count: int  # how many failing findings
    reason: str


PINS: tuple[Pin, ...] = (
    Pin(
        "5.3.2",
        "readme-openssl",
        "connections.mongo-url-parses",
        "error",
        2,
        reason="README.md of 5.3.2 installs with passwords from 'openssl rand -base64 32', whose output holds "
        "'/' (and '+'); templates/_helpers.tpl pastes mongodb.auth.passwords[0] into MONGO_URL and "
        'mongodb.auth.rootPassword into MONGO_OPLOG_URL with printf "mongodb://%s:%s@...", unescaped, so '
        "pymongo (like the Node.js driver) refuses both URLs: '/' ends the host part early ('Bad database "
        "name'). 5.4.3 and later READMEs suggest plain words (rocketchatPassword) instead",
    ),
)


# one per era: oplog URL (monolith), oplog URL (6.13.0), app 8 with microservices on by default
STANDALONE_VERSIONS = ("5.3.2", "6.13.0", "6.31.0")
# the oplog-era versions (an oplog URL beside MONGO_URL) give two findings per rule, 6.31.0 one
STANDALONE_COUNT = {"5.3.2": 2, "6.13.0": 2, "6.31.0": 1}
_HEADLESS = (
    'templates/_helpers.tpl "rocketchat.mongodb.fullname" always names <release>-mongodb-headless, '
    "which the bitnami subchart renders only for architecture: replicaset (templates/replicaset/headless-svc"
    ".yaml); with standalone it renders Deployment/rocketchat-mongodb behind Service/rocketchat-mongodb"
)
_NO_RS = (
    "the chart appends ?replicaSet=<mongodb.replicaSetName> to MONGO_URL (and MONGO_OPLOG_URL where it "
    "exists) whatever the architecture, and a standalone bitnami MongoDB sets no MONGODB_REPLICA_SET_NAME: the "
    "driver never finds a member of rs0, and Rocket.Chat needs a replica set anyway (change streams)"
)
PINS += tuple(
    Pin(v, "standalone", rule, "error", STANDALONE_COUNT[v], reason)
    for v in STANDALONE_VERSIONS
    for rule, reason in (("connections.mongo-host", _HEADLESS), ("connections.mongo-replica-set", _NO_RS))
)


def pinned(version: str, values_stem: str) -> dict[tuple[str, str], Pin]:
    return {(p.rule, p.severity): p for p in PINS if p.version == version and p.values == values_stem}

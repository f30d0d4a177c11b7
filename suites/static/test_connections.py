"""Connections, client against server (CONTRACT.md > Connections): each MongoDB URL and TRANSPORTER read as
its client reads it, its hosts Services of the release, and the release's own MongoDB and NATS accepting what
the client presents (the NATS server itself judges, run by the static lane)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_mongo_url_parses(check):
    """ "the Node.js driver Rocket.Chat uses refuses an unescaped one (MongoParseError)" (Connections)."""
    check("connections.mongo-url-parses")


def test_mongo_hosts_are_services_of_the_release(check):
    """ "`architecture: replicaset` serves through `<release>-mongodb-headless`" (Connections)."""
    check("connections.mongo-host")


def test_mongo_credentials_are_an_account_of_the_server(check):
    """The bundled MongoDB "creates the application user from the first entries of `mongodb.auth.usernames` /
    `passwords` / `databases`" (Connections)."""
    check("connections.mongo-credentials")


def test_mongo_replica_set(check):
    """ "`replicaSet=<name>` must name the server's replica set; Rocket.Chat needs a replica set" (Connections)."""
    check("connections.mongo-replica-set")


def test_transporter_parses(check):
    """ "a client presents them in the URL (`nats://user:password@host:4222`, `nats://token@host:4222`)"."""
    check("connections.nats-url-parses")


def test_nats_server_accepts_transporter(check):
    """ "a server whose configuration has an `authorization` block (users, token) or accounts refuses a client
    that presents no matching credentials" (Connections): the release's nats-server is asked."""
    check("connections.nats-credentials")

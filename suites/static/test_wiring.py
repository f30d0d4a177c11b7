"""Bus and database wiring (CONTRACT.md > Wiring) and the known env-value traps."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_transporter_resolves_to_nats(check):
    """TRANSPORTER=nats://<release>-nats:4222 on every microservice and the monolith; "The host in TRANSPORTER
    must be a Service that exists, exposes that port, and selects the NATS pods" (CONTRACT.md > Wiring)."""
    check("wiring.transporter")


def test_transporter_not_monolith_mode(check):
    """ "monolith+nats://... means the monolith is NOT in microservices mode" (CONTRACT.md > Wiring)."""
    check("wiring.transporter-mode")


def test_mongo_url_from_secret(check):
    """ "Every microservice pod and the monolith get MONGO_URL from a secret key mongo-uri" (CONTRACT.md > Wiring)."""
    check("wiring.mongo-url")


def test_retry_enabled_exactly_true(check):
    """ "RETRY_ENABLED: 'yes' (the server only honours the exact string true)" (CONTRACT.md > Wiring, traps)."""
    check("env.retry-enabled")


def test_no_db_watchers_env(check):
    """ "DB_WATCHERS (the server reads DISABLE_DB_WATCHERS)" (CONTRACT.md > Wiring, traps)."""
    check("env.db-watchers")


def test_nats_address_follows_the_nats_service(check):
    """ "The host in TRANSPORTER must be a Service that exists" (CONTRACT.md > Wiring): the chart hard-codes
    <release>-nats, so a NATS Service renamed by nats.fullnameOverride, nameOverride or a release name containing
    'nats' leaves every pod off the bus."""
    check("wiring.nats-address-follows-service")

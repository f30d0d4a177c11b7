"""Capacity and production hygiene (CONTRACT.md > Components: ddp-streamer sizing, embedded MongoDB)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_ddp_streamer_capacity(check):
    """ "ddp-streamer ... scale from the start: 1 pod per 500 concurrent users" (CONTRACT.md > Components);
    evaluated with --concurrent-users N."""
    check("capacity.ddp-streamer")


def test_external_mongodb_for_production(check):
    """ "mongodb.enabled: true is for tests; production should use an external cluster" (CONTRACT.md > Components)."""
    check("hygiene.embedded-mongodb")


def test_no_default_passwords(check):
    """MongoDB passwords are not the chart's published defaults (CONTRACT.md > Values contract: mongodb.auth)."""
    check("hygiene.default-passwords")


def test_resources_set(check):
    """Every QuickMeet.Chat container has resource requests/limits (CONTRACT.md > Values contract)."""
    check("hygiene.resources")


def test_no_plain_env_credentials(check):
    """Credentials live in Secrets (CONTRACT.md > Wiring: MONGO_URL from a secret key): a licence, password or
    URI with a password as a plain env value is a hygiene warning (the value is never shown)."""
    check("hygiene.plain-env-credentials")


def test_ddp_streamer_rollout_keeps_a_websocket_server(check):
    """ddp-streamer serves every WebSocket (CONTRACT.md > Components): a rollout with maxUnavailable >=
    replicas can leave none."""
    check("rollout.ddp-streamer-keeps-one")

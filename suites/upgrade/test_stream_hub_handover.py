"""stream-hub during an upgrade (CONTRACT.md > Upgrades: "stream-hub must never run two pods at once, not even
during a rollout"; Version rules: stream-hub goes away from 8.0.0)."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_stream_hub_never_runs_twice(check_upgrade):
    """ "stream-hub must never run two pods at once, not even during a rollout: a RollingUpdate with maxSurge >= 1
    on a one-replica Deployment briefly runs two" (CONTRACT.md > Upgrades); a renamed stream-hub Deployment runs
    next to the old one until helm deletes it. When the upgrade removes stream-hub the plan says so."""
    check_upgrade("upgrade.stream-hub-handover")

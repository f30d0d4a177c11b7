"""Live rollouts of each installed values file: `helm upgrade` watched while it runs (CONTRACT.md > Upgrades)."""

import pytest

pytestmark = [pytest.mark.live, pytest.mark.live_mutates, pytest.mark.conformance]


def test_stream_hub_never_two_pods_during_upgrade(live_check):
    """ "stream-hub must never run two pods at once, not even during a rollout" (CONTRACT.md > Upgrades): a pod
    watch over a `helm upgrade` that changes every pod template records the peak number of hubs."""
    live_check("live.streamhub-peak-one")


def test_unchanged_upgrade_restarts_nothing(live_check):
    """An upgrade with the same values changes no pod template (CONTRACT.md > Upgrades: the upgrade keeps
    what it does not change): same pod UIDs and ReplicaSets."""
    live_check("live.upgrade-no-restart")

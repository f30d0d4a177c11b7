"""stream-hub rules (CONTRACT.md > Components: NEVER more than one pod; Upgrades: not even during a rollout)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_stream_hub_single_replica(check):
    """ "stream-hub ... NEVER more than one pod per deployment" (CONTRACT.md > Components)."""
    check("streamhub.single-replica")


def test_stream_hub_not_autoscaled(check):
    """No HPA may scale stream-hub past one pod (CONTRACT.md > Components)."""
    check("streamhub.no-autoscaler")


def test_stream_hub_rollout_never_runs_two(check):
    """ "A RollingUpdate with maxSurge >= 1 on a one-replica Deployment briefly runs two" (CONTRACT.md > Upgrades)."""
    check("streamhub.rollout-never-two")

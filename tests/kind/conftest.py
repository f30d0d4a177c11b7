"""Fixtures of the kind self-tests."""

from __future__ import annotations

import pytest

from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.plugin_live import live_run


@pytest.fixture
def kind_lane(request: pytest.FixtureRequest) -> LiveLane:
    """The session's live lane on a kind cluster; skipped elsewhere (no pod runs on KWOK, so nothing answers
    the probes)."""
    if live_run(request.config).config.provider != "kind":
        pytest.skip("needs --cluster kind: the probes need pods that really run")
    lane: LiveLane = request.getfixturevalue("live_lane")
    return lane

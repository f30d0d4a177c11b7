"""Audit of a deployed release (`--cluster existing --release NAME --namespace NS`): the static rules on the
values and manifest helm stored for it (one test per rule). Read-only; the live topology and drift tests in
test_topology.py run on the same release."""

import pytest

from quickmeet_conformance.plugin_live import check_live_rule

pytestmark = [pytest.mark.live, pytest.mark.conformance]


def test_release_passes_static_rule(audit_static_rule, live_case, request):
    """Every static rule (CONTRACT.md, each rule names its line) holds for the release as deployed."""
    check_live_rule(live_case, audit_static_rule, request.node, static=True)

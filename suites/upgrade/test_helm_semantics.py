"""Helm's own semantics across an upgrade (CONTRACT.md > Helm's semantics that a check must reproduce)."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_upgrade_removes_nothing_install_only(check_upgrade):
    """The new chart renders on upgrade what it renders on install: nothing the old release had disappears only
    because a template tests `.Release.IsInstall`."""
    check_upgrade("upgrade.install-only")


def test_reuse_values_keeps_what_the_new_chart_needs(check_upgrade):
    """Under `helm upgrade --reuse-values` (simulated with --reuse-values) the new chart's defaults are not
    applied: no object, container, env var or volume goes missing because a key its templates read stays unset."""
    check_upgrade("upgrade.reuse-values-needed-keys")

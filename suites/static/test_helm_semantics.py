"""Helm's own semantics (CONTRACT.md > Helm's semantics that a check must reproduce) and settings given once for
the whole release."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_first_upgrade_keeps_what_install_gave(check):
    """`helm upgrade` renders with `.Release.IsUpgrade` true: what a template emits only on install (an env var, a
    Secret key, a volume) is removed by the first upgrade of the same values."""
    check("helm.install-only")


def test_dependency_conditions_are_readable(check):
    """A dependency's `condition` is split on ',' without trimming and the first path resolving to a boolean
    wins: a blank after the comma or a non-boolean value changes which subcharts render."""
    check("helm.dependency-condition")


def test_rendered_subcharts_are_used(check):
    """A subchart that renders while nothing in the release connects to it (bundled MongoDB next to
    externalMongodbUrl, NATS with the monolith) runs for nothing."""
    check("helm.unused-subchart")


def test_release_wide_settings_reach_every_workload(check):
    """`global` values reach every subchart, but a subchart only uses the globals it was written to read:
    tolerations, node selectors, affinity, pull secrets and the image registry given for the release must reach
    every workload, or name the key that does."""
    check("release.settings-reach-every-workload")


def test_backend_settings_are_shared(check):
    """Every client of one MongoDB gets the same connection settings (MONGO_OPTIONS, CA files)."""
    check("release.backend-settings-shared")

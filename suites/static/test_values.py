"""Values file rules (CONTRACT.md > Values contract)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_values_match_schema(check):
    """Values match schemas/values.schema.json: types, ranges, streamHub.replicas <= 1
    (CONTRACT.md > Values contract: "replicas above 1 is a contract violation")."""
    check("values.schema")


def test_no_ignored_keys(check):
    """Every key is read by the chart (CONTRACT.md > Values contract: "Helm silently ignores keys that the
    chart never reads; a typo such as ddpStreamers is the most common way a values file works and does nothing")."""
    check("values.ignored-keys")


def test_nats_scaled_with_cluster_replicas(check):
    """microservices.nats.replicas is ignored by the real chart; NATS scales via nats.cluster.replicas
    (CONTRACT.md > Values contract)."""
    check("values.nats-replicas-ignored")


def test_chart_renders(check):
    """The chart renders the values (CONTRACT.md > Version rules: the chart refuses stream-hub on 8.0.0+ and
    refuses to run without it on <= 7.7.0)."""
    check("render.succeeds")


def test_chart_does_not_refuse_allowed_values(check):
    """The app version comes from image.tag, else appVersion (CONTRACT.md > Version rules); a tag that is not a
    version (latest, a digest) and a monolith on any app version are allowed: a chart gate refusing them is
    reported with the chart's own message, the key and the fix."""
    check("render.refuses-allowed-values")

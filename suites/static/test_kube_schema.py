"""Rendered manifests are valid Kubernetes objects for --kube-version (CONTRACT.md > Upgrades: the API server
rejects what it cannot accept)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_manifests_valid_for_kube_version(check):
    """Every rendered object validates against the Kubernetes OpenAPI schema of --kube-version (offline)."""
    check("manifests.kube-schema")

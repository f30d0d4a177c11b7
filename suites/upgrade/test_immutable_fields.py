"""Immutable fields across an upgrade (CONTRACT.md > Upgrades: selectors, StatefulSet identity, clusterIP, PVC
specs and Job templates are immutable: an upgrade that changes them fails at the API server)."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_no_immutable_field_changes(check_upgrade):
    """ "Deployment spec.selector, StatefulSet volumeClaimTemplates/serviceName/selector, Service clusterIP, PVC specs
    and Job templates are immutable: an upgrade that changes them fails at the API server" (CONTRACT.md > Upgrades)."""
    check_upgrade("upgrade.immutable-fields")


def test_no_kind_change_under_the_same_name(check_upgrade):
    """A resource deleted and another kind created under its name is a delete and a create, not an upgrade
    (CONTRACT.md > Upgrades: what the upgrade keeps must survive)."""
    check_upgrade("upgrade.kind-change")

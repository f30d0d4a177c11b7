"""Converting the monolith and the state after the upgrade (CONTRACT.md > Upgrades: "Convert your monolith
deployment")."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_monolith_deployment_survives(check_upgrade):
    """ "Convert your monolith deployment = helm upgrade with microservices.enabled: true: the monolith Deployment
    must survive (same selector), new Deployments are added" (CONTRACT.md > Upgrades)."""
    check_upgrade("upgrade.monolith-survives")


def test_target_passes_static_lane(check_upgrade):
    """After the upgrade the release still meets the whole contract: the to-side passes every static rule
    (CONTRACT.md, every section the static lane enforces)."""
    check_upgrade("upgrade.target-passes-static")


def test_mode_not_changed_by_a_new_default(check_upgrade):
    """ "Convert your monolith deployment" = helm upgrade with microservices.enabled: true (CONTRACT.md >
    Upgrades): a conversion only because the new chart's default changed is a warning naming that default."""
    check_upgrade("upgrade.mode-changed-by-default")

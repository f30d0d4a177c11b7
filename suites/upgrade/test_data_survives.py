"""MongoDB data and secrets across an upgrade (CONTRACT.md > Upgrades: "MongoDB data and secrets are kept")."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_mongodb_data_survives(check_upgrade):
    """The MongoDB StatefulSet, its volume claim templates and the Secrets holding mongo-uri and the MongoDB
    passwords are neither deleted nor renamed (CONTRACT.md > Upgrades: "MongoDB data and secrets are kept")."""
    check_upgrade("upgrade.data-survives")


def test_generated_secrets_are_stable(check_upgrade):
    """A secret value that differs between two renders of the same input (randAlphaNum) or changes although no
    password value changed replaces the password the data was created with (CONTRACT.md > Upgrades: "MongoDB
    data and secrets are kept")."""
    check_upgrade("upgrade.stable-secrets")


def test_pod_identity_kept_on_persistent_volumes(check_upgrade):
    """ "MongoDB data and secrets are kept" (CONTRACT.md > Upgrades): a workload mounting a PersistentVolume
    keeps runAsUser, runAsGroup and fsGroup, or the files the old user wrote become unreadable."""
    check_upgrade("upgrade.pod-identity-with-volume")

"""Component rules (CONTRACT.md > Components, Version rules, Values contract)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_components_present_as_required(check):
    """Every component the mode and app version call for runs, and none they rule out (CONTRACT.md >
    Components; "A suite must derive is stream-hub expected from the app version and
    microservices.streamHub.enabled")."""
    check("components.present")


def test_images_as_configured(check):
    """Each component runs the image its values configure (CONTRACT.md > Components, image column;
    Values contract: image: {repository, tag, pullPolicy})."""
    check("components.images")


def test_replicas_honoured(check):
    """replicaCount for the monolith and microservices.<svc>.replicas are rendered as spec.replicas
    (CONTRACT.md > Values contract)."""
    check("components.replicas")

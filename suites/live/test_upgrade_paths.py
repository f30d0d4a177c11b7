"""Upgrade paths for real: install the from-side, `helm upgrade` to the to-side (CONTRACT.md > Upgrades);
the pairs are the upgrade lane's matrix (fixtures/upgrades)."""

import pytest

pytestmark = [pytest.mark.live, pytest.mark.live_mutates, pytest.mark.conformance]


def test_upgrade_accepted(live_upgrade_check):
    """ "Deployment spec.selector, StatefulSet volumeClaimTemplates/serviceName/selector, Service clusterIP, PVC
    specs and Job templates are immutable: an upgrade that changes them fails at the API server"."""
    live_upgrade_check("live.upgrade-accepted")


def test_api_server_agrees_with_the_prediction(live_upgrade):
    """The render-time lane's verdict on immutable fields (upgrade.immutable-fields) is the API server's:
    a pair predicted clean is accepted, a pair predicted to change an immutable field is rejected."""
    outcome = live_upgrade.view.upgrade
    if outcome is None:
        pytest.fail(
            f"the from-side of {live_upgrade.label} did not install: {live_upgrade.view.rollout_error}",
            pytrace=False,
        )
    predicted_rejected = bool(outcome.predicted_rejections)
    assert predicted_rejected != outcome.accepted, (
        f"{live_upgrade.label}: render-time prediction "
        f"{'rejects (' + '; '.join(outcome.predicted_rejections) + ')' if predicted_rejected else 'accepts'}, "
        f"but the API server {'accepted' if outcome.accepted else 'rejected: ' + outcome.error}"
    )


def test_mongodb_data_and_secrets_survive(live_upgrade_check):
    """ "The monolith Deployment must survive ..., MongoDB data and secrets are kept" (CONTRACT.md > Upgrades):
    MongoDB's volume claims and Secrets keep their UIDs."""
    live_upgrade_check("live.upgrade-keeps-data")


def test_stream_hub_never_two_pods_during_the_upgrade(live_upgrade_check):
    """ "stream-hub must never run two pods at once, not even during a rollout" (CONTRACT.md > Upgrades)."""
    live_upgrade_check("live.streamhub-peak-one")


def test_websockets_move_to_ddp_streamer(live_upgrade_check):
    """ "Convert your monolith deployment" = helm upgrade with microservices.enabled: true (CONTRACT.md >
    Upgrades), after which "/websocket and /sockjs ... must go to the ddp-streamer Service" (Wiring): the DDP
    probe through the ingress is answered by the monolith before and by ddp-streamer after (kind only: on
    KWOK no pod answers)."""
    live_upgrade_check("live.upgrade-websocket-handover")

""" "Convert your monolith deployment" on a real kind cluster (CONTRACT.md > Upgrades): the project's
``monolith-to-microservices`` pair installed with helm, then a real ``helm upgrade``. The DDP probe through the
ingress is answered by the monolith before and by ddp-streamer after, on both WebSocket routes, and the
converted release's services are on its NATS bus. Run with ``--cluster kind`` (skipped elsewhere: no pod
answers on KWOK)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.probes import nats_bus
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.upgrade import UpgradeCase, load_matrix
from quickmeet_conformance.upgrade.pairs import write_inline_values

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".tools" / "bin" / os.environ.get("QMC_MUTANT_HELM", "helm3")
PAIR = "monolith-to-microservices"
ROUTES = ("/websocket", "/sockjs")


def test_conversion_moves_the_websockets_from_the_monolith_to_ddp_streamer(
    kind_lane: LiveLane, tmp_path: Path
) -> None:
    [raw] = [p for p in load_matrix(REPO / "fixtures" / "upgrades") if p.name == PAIR]
    pair = write_inline_values(raw, tmp_path)
    renderer = Renderer(resolve_helm(str(HELM)))
    charts = {
        which: load_chart(
            str(REPO / pair.side(which).chart), version=None, helm_path=renderer.helm.path, workdir=tmp_path
        )
        for which in ("from", "to")
    }
    result = kind_lane.upgrade_scenario(PAIR, UpgradeCase(pair, charts["from"], charts["to"], renderer))
    log = "\n".join(result.log)
    try:
        outcome = result.view.upgrade
        assert outcome is not None and outcome.accepted, (
            f"{PAIR}: the upgrade did not run or was refused\n{log}"
        )
        assert outcome.websocket_before == dict.fromkeys(ROUTES, "monolith"), (
            f"before the upgrade the monolith should answer the WebSockets through the ingress, found "
            f"{outcome.websocket_before}\n{log}"
        )
        assert outcome.websocket_after == dict.fromkeys(ROUTES, "ddp-streamer"), (
            f"after the upgrade ddp-streamer should answer the WebSockets through the ingress, found "
            f"{outcome.websocket_after}\n{log}"
        )
        for rule in (
            "live.upgrade-websocket-handover",
            nats_bus.RULE_SERVICE_ANNOUNCED,
            nats_bus.RULE_NODE_COUNT,
        ):
            assert result.verdict(rule) == Verdict.PASS, (
                f"{rule} on the converted release: "
                + "; ".join(f.one_line() for f in result.findings.get(rule, []))
                + f"\n{log}"
            )
    finally:
        kind_lane.release_case(result)

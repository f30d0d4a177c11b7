"""Service rules (CONTRACT.md > Wiring: naming, Services selecting the right pods and ports)."""

import pytest

pytestmark = [pytest.mark.static, pytest.mark.conformance]


def test_service_selects_one_component(check):
    """Every Service selects the pods of exactly one component (CONTRACT.md > Wiring: naming in the real chart,
    one Service per component)."""
    check("services.single-component")


def test_service_target_ports_exist(check):
    """Every Service port's targetPort exists on the pods it selects (CONTRACT.md > Wiring)."""
    check("services.target-port")

"""Values keys across chart versions (CONTRACT.md > Values contract: "Helm silently ignores keys that the chart
never reads")."""

import pytest

pytestmark = [pytest.mark.upgrade, pytest.mark.conformance]


def test_no_renamed_values_key_is_set(check_upgrade):
    """A key the old chart read and the new one does not (renamed or dropped) is carried silently by
    `helm upgrade --reuse-values` and does nothing (CONTRACT.md > Values contract: "Helm silently ignores keys
    that the chart never reads")."""
    check_upgrade("upgrade.renamed-values-keys")


def test_reuse_values_upgrade(check_upgrade):
    """helm upgrade --reuse-values (simulated with --reuse-values): the old release's values replace the new
    chart's defaults; the new defaults that go missing, and any refusal of the new chart, are reported."""
    check_upgrade("upgrade.reuse-values")

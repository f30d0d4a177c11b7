"""values.ignored-keys on the public chart: every key the chart and its NATS subchart document in their
values.yaml (set, or shown commented out as an option) is read by a template, so none is reported ignored,
and nats.fullnameOverride (read only by the subchart's name helper) is known."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from upstream_charts import VERSIONS, require_upstream

from quickmeet_conformance.chart_reads import values_read_by_templates
from quickmeet_conformance.charts import chart_defaults
from quickmeet_conformance.schema import ignored_keys

_COMMENTED_KEY = re.compile(
    r"^(?P<indent> *)#(?P<gap> +)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: |$)(?P<rest>.*)$"
)
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: |$)(?P<rest>.*)$")
_PROSE = {"ref", "Ref", "NOTE", "Note", "IMPORTANT", "TODO", "Usage", "Helm", "e", "i"}


def documented_paths(values_yaml: str) -> list[str]:
    """Dotted key paths a values.yaml documents: its keys, and keys shown commented out (``# host:``,
    ``  # rootPassword:``) placed by their column under the keys above them. Commented keys under a
    flow-style empty value (``affinity: {}`` followed by an example) and list items are examples, not keys."""
    stack: list[tuple[int, str]] = []  # (column, key) of the enclosing keys
    paths: list[str] = []
    example_below: int | None = None  # column of a key whose commented children are only an example
    open_map: tuple[int, str] | None = (
        None  # a key with no value just above: a commented key at its column fills it
    )
    for line in values_yaml.splitlines():
        real, commented = _KEY.match(line), _COMMENTED_KEY.match(line)
        match = real or commented
        if match is None:
            if line.strip() and not line.strip().startswith("#"):
                open_map = None
            continue
        column = len(match.group("indent")) + (len(match.group("gap")) - 1 if commented else 0)
        key, rest = match.group("key"), match.group("rest").strip()
        if commented and (key in _PROSE or rest.startswith(("http", "//")) or _is_prose(rest)):
            continue
        if commented and open_map is not None and column == open_map[0]:
            column += 1  # `annotations:` then `# key: "value"`: an example entry of the empty map above
        while stack and stack[-1][0] >= column:
            stack.pop()
        if real:
            value = rest.split("#")[0].strip()
            example_below = column if value in ("{}", "[]") else None
            open_map = (column, key) if not value else None
        elif example_below is not None and column >= example_below:
            continue
        paths.append(".".join([k for _, k in stack] + [key]))
        stack.append((column, key))
    return paths


def _is_prose(rest: str) -> bool:
    """``# ServiceMonitor: Deprecated in favor of podMonitor`` is a sentence, not a commented key."""
    words = rest.split()
    return len(words) >= 3 and not rest.startswith(("'", '"', "[", "{", "-")) and not rest[:1].isdigit()


def _nested(path: str) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for part in reversed(path.split(".")):
        node = {part: node or "x"}
    return node


def _documented(chart: Path) -> list[str]:
    paths = documented_paths((chart / "values.yaml").read_text(encoding="utf-8"))
    for sub in sorted((chart / "charts").iterdir()):
        name = (yaml.safe_load((sub / "Chart.yaml").read_text(encoding="utf-8")) or {})["name"]
        paths += [f"{name}.{p}" for p in documented_paths((sub / "values.yaml").read_text(encoding="utf-8"))]
    return paths


# The bitnami MongoDB subchart is removed from these copies (no network; ../shared/upstream-charts/README.md):
# its keys are read by a chart that is not there, so nothing here can judge them.
NOT_VENDORED = ("mongodb.", "postgresql.")

# Documented in values.yaml, read by no template: a defect of the public chart the rule rightly reports.
DOCUMENTED_BUT_UNREAD = {
    "hooks.nodeSelector": "values.yaml shows '# nodeSelector: {}' under hooks, but no template reads hooks at all "
    "(the pre-upgrade hook it configured is gone): setting it does nothing",
    "hooks.affinity": "values.yaml shows '# affinity: {}' under hooks, read by no template",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_no_documented_key_is_reported_ignored(version):
    chart = require_upstream(version)
    defaults, reads = chart_defaults(chart), values_read_by_templates(chart)
    documented = _documented(chart)
    assert len(documented) > 300, (
        f"expected the chart and NATS subchart to document 300+ keys, found {len(documented)}"
    )
    reported = [
        f"{path}: {ignored.message()}"
        for path in documented
        if not path.startswith(NOT_VENDORED) and path not in DOCUMENTED_BUT_UNREAD
        for ignored in ignored_keys(_nested(path), defaults, reads=reads)
    ]
    for path, why in DOCUMENTED_BUT_UNREAD.items():
        assert ignored_keys(_nested(path), defaults, reads=reads), f"{path} is no longer reported ({why})"
    assert not reported, (
        f"rocketchat-{version}: keys its values.yaml documents are reported as ignored by values.ignored-keys:\n"
        + "\n".join(reported)
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_keys_read_only_in_helpers_are_known(version):
    chart = require_upstream(version)
    defaults, reads = chart_defaults(chart), values_read_by_templates(chart)
    for path in (
        "nats.fullnameOverride",
        "nats.existingSecret.name",
        "host",
        "license",
        "persistence.existingClaim",
    ):
        found = ignored_keys(_nested(path), defaults, reads=reads)
        assert not found, (
            f"rocketchat-{version}: {path} is read by the chart's templates but reported: {found[0].message()}"
        )
    typo = ignored_keys({"microservices": {"ddpStreamers": {"replicas": 2}}}, defaults, reads=reads)
    assert [(i.key_path, i.suggestion) for i in typo] == [("microservices.ddpStreamers", "ddpStreamer")], typo

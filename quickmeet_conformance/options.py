"""Options that exist both as a pytest flag and as an environment variable (the flag wins)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass(frozen=True)
class OptionSpec:
    dest: str
    flag: str
    env: str
    help: str
    extra: dict[str, Any] = field(default_factory=dict)  # argparse extras: action, type, choices


def add_options(
    parser: pytest.Parser,
    specs: list[OptionSpec],
    group: str = "conformance",
    title: str = "QuickMeet.Chat conformance",
) -> None:
    options = parser.getgroup(group, title)
    for spec in specs:
        extra = dict(spec.extra)
        if "choices" not in extra and extra.get("action") not in ("store_true", "store_false"):
            extra.setdefault(
                "metavar", spec.flag.lstrip("-").upper().replace("-", "_")
            )  # not the dest's name
        options.addoption(spec.flag, dest=spec.dest, help=f"{spec.help} [env {spec.env}]", **extra)


def read_option(config: pytest.Config, specs: list[OptionSpec], dest: str) -> Any:
    """The flag's value, else the environment variable's (parsed like the flag), else the default."""
    value = config.getoption(dest)
    if value not in (None, False, []):
        return value
    spec = next(s for s in specs if s.dest == dest)
    raw = os.environ.get(spec.env)
    if raw in (None, ""):
        return value
    action, kind = spec.extra.get("action"), spec.extra.get("type")
    if action == "append":
        return [p for p in raw.split(os.pathsep) if p]
    if action == "store_true":
        return raw.lower() not in ("0", "false", "no")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise pytest.UsageError(f"{spec.env}={raw!r} is not {what}") from None
    if "choices" in spec.extra and raw not in spec.extra["choices"]:
        raise pytest.UsageError(f"{spec.env}={raw!r}: choose from {', '.join(spec.extra['choices'])}")
    return raw

"""The one way the plugins read an option: the flag, else its environment variable, else the default.

Each plugin module declares its options as :class:`OptionSpec` rows (``declare``) and registers them with
pytest (``add_options``); every read, in every lane, is ``read_option(config, dest)``. Options another plugin
owns (pytest-kind-ng's ``--kubeconfig``) have no environment variable here and read as their flag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

ENV_PREFIX = "QMC_"  # a variable with this prefix asks for the plugin's work (see ``conformance_asked``)
DEST_PREFIX = "qmc_"


@dataclass(frozen=True)
class OptionSpec:
    dest: str
    flag: str
    env: str
    help: str
    extra: dict[str, Any] = field(default_factory=dict)  # argparse extras: action, type, choices


# every declared option by dest: a module-level table like the rule registry, filled when a plugin module is
# imported (pytest imports them all before any option is read)
_DECLARED: dict[str, OptionSpec] = {}


def declare(specs: Iterable[OptionSpec]) -> list[OptionSpec]:
    """Make ``specs`` readable by ``read_option`` (idempotent); returns them for the module's table."""
    rows = list(specs)
    for spec in rows:
        _DECLARED[spec.dest] = spec
    return rows


def add_options(
    parser: pytest.Parser,
    specs: list[OptionSpec],
    group: str = "conformance",
    title: str = "QuickMeet.Chat conformance",
) -> None:
    declare(specs)
    options = parser.getgroup(group, title)
    for spec in specs:
        extra = dict(spec.extra)
        if "choices" not in extra and extra.get("action") not in ("store_true", "store_false"):
            extra.setdefault(
                "metavar", spec.flag.lstrip("-").upper().replace("-", "_")
            )  # not the dest's name
        options.addoption(spec.flag, dest=spec.dest, help=f"{spec.help} [env {spec.env}]", **extra)


def _given(value: Any) -> bool:
    return value not in (None, False, [])


def read_option(config: pytest.Config, dest: str) -> Any:
    """The flag's value, else the environment variable's (parsed like the flag), else the default.

    A dest no plugin module declared is another plugin's option: its flag, or None when that plugin is not
    loaded (pytest-kind-ng installed but disabled registers no ``--kubeconfig``, and neither do we then)."""
    value = config.getoption(dest, None)
    spec = _DECLARED.get(dest)
    if _given(value) or spec is None:
        return value
    raw = os.environ.get(spec.env)
    if raw in (None, ""):
        return value
    return _parsed(spec, raw)


def _parsed(spec: OptionSpec, raw: str) -> Any:
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


def conformance_asked(config: pytest.Config) -> bool:
    """Any conformance flag given, or any ``QMC_*`` variable set (a project that merely has the plugin
    installed sets neither)."""
    if any(_given(v) for k, v in vars(config.option).items() if k.startswith(DEST_PREFIX)):
        return True
    return any(k.startswith(ENV_PREFIX) and v for k, v in os.environ.items())

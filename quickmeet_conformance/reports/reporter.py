"""The report formats' one interface: a ``Reporter`` turns a ``ReportRun`` into the text of one file.

Both routes write reports only through this registry: ``conformance check`` offers every registered format
as ``--format`` (and, when it declares one, an "also write FILE" flag such as ``--sarif``); the pytest plugin
adds each format's declared ``PytestOption`` (a flag and an environment variable) and writes the ones asked
for. A format is one module of this package holding a ``@register``-ed subclass; ``reporters()`` imports
every module of the package, so a new module needs no list anywhere (as ``rules/__init__.py`` finds rules).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..findings import Finding, Waiver, blocking

if TYPE_CHECKING:  # types only: the CLI and the plugin pass these in
    from ..pipeline import CaseResult
    from ..probes import ProbeResult
    from ..session import ConformanceSession
    from ..upgrade.case import UpgradeResult

NOT_FORMATS = frozenset({"reporter"})  # the interface itself; every other module may declare formats


@dataclass(frozen=True)
class PytestOption:
    """How the pytest route names a format's file: a flag and an environment variable (the flag wins).
    ``alias`` is a second flag offered only while ``alias_owner`` (a plugin module that adds that flag
    itself) cannot be imported: two plugins adding one option stop pytest before it starts."""

    dest: str
    flag: str
    env: str
    help: str
    metavar: str | None = None  # None: pytest's default (the flag's name in capitals)
    alias: str | None = None
    alias_owner: str | None = None


@dataclass
class ReportRun:
    """What a run hands its reporters: the static cases' results and strictness, the report model built
    lazily (and once) by ``model``, and what only some routes have (upgrades, probes, the CLI's session)."""

    results: Sequence[CaseResult]
    strict: bool
    model: Callable[[], dict[str, Any] | None]
    upgrades: Sequence[UpgradeResult] = ()
    probes: Sequence[ProbeResult] = ()
    setup_error: str | None = None  # the run stopped before any rule ran (pytest route)
    session: ConformanceSession | None = None  # conformance check: the chart and helm binaries checked with
    bundled: bool = False  # conformance check: the chart is the bundled reference chart
    verbose: bool = False  # text: every rule, not only the findings
    waivers: Sequence[Waiver] = ()  # the run's waiver file (--waivers): its unmatched entries are reported
    _document: list[dict[str, Any] | None] = field(default_factory=list, init=False, repr=False)

    @property
    def document(self) -> dict[str, Any] | None:
        """The report model (static cases plus every lane's sections); None when nothing was evaluated."""
        if not self._document:
            self._document.append(self.model())
        return self._document[0]

    def input_errors(self) -> int:
        """Cases (static or upgrade) that could not be checked: a missing or malformed input."""
        return sum(1 for r in self.results if r.input_error) + sum(1 for u in self.upgrades if u.input_error)

    def findings(self) -> Iterator[Finding]:
        """Every finding of the static and upgrade cases (what the text summary counts)."""
        for result in self.results:
            for found in result.findings.values():
                yield from found
        for upgrade in self.upgrades:
            for found in upgrade.findings.values():
                yield from found

    def exit_code(self) -> int:
        """What ``conformance check`` exits with: 2 a case could not be checked, 1 findings fail, 0 conformant."""
        if self.input_errors():
            return 2
        return 1 if self.failing() else 0

    def failing(self) -> int:
        """Cases with a finding that fails the run (a warning only under ``strict``)."""
        static = sum(1 for r in self.results if r.failures(strict=self.strict))
        upgrades = sum(
            1 for u in self.upgrades if any(blocking(fs, strict=self.strict) for fs in u.findings.values())
        )
        return static + upgrades


class Reporter(ABC):
    """One report format. ``name`` is its ``--format`` choice; ``order`` places it among the choices;
    ``cli_flag``/``cli_help`` declare ``conformance check``'s "also write FILE" flag, ``pytest_option`` the
    pytest route's flag and variable (None: the route does not write this format)."""

    name: ClassVar[str]
    order: ClassVar[int] = 100
    cli_flag: ClassVar[str | None] = None
    cli_help: ClassVar[str] = ""
    pytest_option: ClassVar[PytestOption | None] = None

    @abstractmethod
    def render(self, run: ReportRun) -> str:
        """The whole file's text."""

    def wanted(self, run: ReportRun) -> bool:
        """Whether the pytest route writes the file asked for: by default only when a conformance case or
        lane evaluated something (a run of only the framework's self-tests writes nothing)."""
        return run.document is not None


_REGISTRY: dict[str, Reporter] = {}
R = TypeVar("R", bound=type[Reporter])


def register(cls: R) -> R:
    """Class decorator: add the format to the registry (a second format of the same name replaces it)."""
    _REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Drop a format (for tests that register a format of their own)."""
    _REGISTRY.pop(name, None)


@functools.cache
def _load_modules() -> None:
    package = __name__.rsplit(".", 1)[0]
    path = [str(Path(__file__).parent)]
    for module in sorted(m.name for m in pkgutil.iter_modules(path)):
        if module not in NOT_FORMATS:
            importlib.import_module(f"{package}.{module}")


def reporters() -> list[Reporter]:
    """Every registered format, in ``order`` (then by name)."""
    _load_modules()
    return sorted(_REGISTRY.values(), key=lambda r: (r.order, r.name))


def reporter(name: str) -> Reporter:
    _load_modules()
    return _REGISTRY[name]


def write_report(text: str, path: str | Path) -> None:
    """Write one report file, creating its folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")

"""The rule engine: a registry of rules (id, severity, contract citation, fix) and their evaluation.

A rule is a function from a lane's context to findings. Rules only read the context: they never call helm
or a cluster (the pipeline did that before them). The engine knows no lane: each lane declares its own
context type beside its rules (``rules/context.py`` for the static lane, ``live/rules/context.py``,
``upgrade/rules/context.py``, the probe lane's own), so a rule's context type says exactly what it may read.
A rule declared with ``needs_render`` reads the render-narrowed view of its lane's context
(:class:`Renders`): the engine skips it when the chart did not render, and its topology is never None.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from ..findings import Finding, Location, Remedy, Severity, Verdict, Waiver
from ..render import Manifest
from ..topology import Workload
from ..values import ValuesFile
from ..waivers import apply as apply_waivers
from .citations import public_doc

NOT_RENDERED = "not evaluated: the chart did not render for these values"


@dataclass(frozen=True)
class Options:
    kube_version: str = "1.35.0"
    concurrent_users: int | None = None
    allow_ignored_keys: bool = False  # downgrade ignored keys from error to warning
    strict: bool = False  # warning-severity findings block the run too (findings.blocks_run)
    waivers: tuple[Waiver, ...] = ()  # accepted findings (--waivers FILE); evaluate_rule attaches them


class RuleContext(Protocol):
    """What the engine reads from every lane's context: the values file a finding's key path points into
    (None for a lane without one, e.g. an observation of a running release)."""

    @property
    def values_file(self) -> ValuesFile | None: ...


V_co = TypeVar("V_co", bound=RuleContext, covariant=True)


class Renders(RuleContext, Protocol[V_co]):
    """A lane context that a rule declared with ``needs_render`` reads narrowed to a successful render."""

    def rendered_view(self) -> V_co | None:
        """The context with its render(s) known to be there; None when the chart did not render."""
        ...


C = TypeVar("C", bound=RuleContext)
V = TypeVar("V", bound=RuleContext)
Check = Callable[
    [C, "Rule[Any]"], Iterable[Finding]
]  # generic alias: Check[LiveContext], Check[StaticContext]


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One registered rule; ``C`` is the context its lane passes to :func:`evaluate_rule`."""

    id: str
    title: str
    severity: Severity
    contract: str  # the CONTRACT.md line it enforces (shown by `conformance explain --verbose`)
    basis: str  # where the fact comes from: "doc", "chart behaviour", "server code"
    fix: str
    check: Callable[[C, Rule[Any]], Iterable[Finding]] = field(repr=False)
    needs_render: bool = True
    lane: str = "static"
    doc: str = ""  # the public document a customer reads (rules/citations.py): what every report cites

    def fail(
        self,
        ctx: RuleContext,
        message: str,
        *,
        expected: str = "",
        found: str = "",
        workload: Workload | None = None,
        resource: str = "",
        field_path: str = "",
        key_path: str = "",
        manifest: Manifest | None = None,
        severity: Severity | None = None,
        values_file: ValuesFile | None = None,
        remedy: Remedy | None = None,
    ) -> Finding:
        """A failed finding, located at the values key when given (in ``values_file``, default the context's),
        else at the chart template."""
        location = None
        if workload is not None:
            resource = resource or workload.ref
            manifest = manifest or workload.manifest
        if key_path:
            located_in = values_file or ctx.values_file
            if located_in is not None:
                location = located_in.locate(key_path)
        elif manifest is not None and manifest.source:
            location = Location(manifest.source)
        return Finding(
            rule_id=self.id,
            verdict=Verdict.FAIL,
            message=message,
            severity=severity or self.severity,
            expected=expected,
            found=found,
            resource=resource,
            field_path=field_path,
            location=location,
            remedy=remedy,
        )

    def skip(self, reason: str) -> Finding:
        return Finding(rule_id=self.id, verdict=Verdict.SKIP, message=reason, severity=Severity.INFO)


RULES: dict[str, Rule[Any]] = {}


def _after_render(fn: Check[V]) -> Check[Renders[V]]:
    """The check a ``needs_render`` rule registers: a skip when the chart did not render, else ``fn`` on the
    narrowed view (functools.wraps keeps the rule's own module and name)."""

    @functools.wraps(fn)
    def check(ctx: Renders[V], r: Rule[Any]) -> Iterable[Finding]:
        view = ctx.rendered_view()
        return [r.skip(NOT_RENDERED)] if view is None else fn(view, r)

    return check


@overload
def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity = ...,
    contract: str,
    fix: str,
    basis: str = ...,
    needs_render: Literal[False],
    lane: str = ...,
    doc: str = ...,
) -> Callable[[Check[C]], Check[C]]: ...


@overload
def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity = ...,
    contract: str,
    fix: str,
    basis: str = ...,
    needs_render: Literal[True] = ...,
    lane: str = ...,
    doc: str = ...,
) -> Callable[[Check[V]], Check[V]]: ...


def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity = Severity.ERROR,
    contract: str,
    fix: str,
    basis: str = "doc",
    needs_render: bool = True,
    lane: str = "static",
    doc: str = "",
) -> Callable[[Check[Any]], Check[Any]]:
    """Register the decorated check as rule ``rule_id`` of ``lane``. A ``needs_render`` check takes its lane's
    render-narrowed view (:class:`Renders`); any other takes the lane's context as it is. ``doc`` is the public
    document the reports cite (default: its id's or topic's in ``rules/citations.py``)."""

    def register(fn: Check[Any]) -> Check[Any]:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        check = _after_render(fn) if needs_render else fn
        RULES[rule_id] = Rule(
            rule_id,
            title,
            severity,
            contract,
            basis,
            fix,
            check,
            needs_render,
            lane,
            doc or public_doc(rule_id),
        )
        return fn

    return register


def _waivers_of(ctx: RuleContext) -> tuple[Waiver, ...]:
    """The run's waivers, from the lane's options: every lane's context carries the run's ``Options`` (static,
    upgrade, live, and each probe's), so every finding meets the run's waivers here."""
    options = getattr(ctx, "options", None)
    return options.waivers if isinstance(options, Options) else ()


def evaluate_rule(ctx: C, rule_obj: Rule[C]) -> list[Finding]:
    """Run one rule; no failure means one PASS finding; a crash is an ERROR finding, not a pass. Every lane's
    findings pass here, so this is where the run's waivers are attached (``waivers.apply``)."""
    return apply_waivers(_checked(ctx, rule_obj), _waivers_of(ctx))


def _checked(ctx: C, rule_obj: Rule[C]) -> list[Finding]:
    try:
        findings = list(rule_obj.check(ctx, rule_obj))
    except Exception as exc:  # a bug in a rule must be visible and never count as a pass
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [
            Finding(
                rule_id=rule_obj.id,
                verdict=Verdict.ERROR,
                message=f"internal error in rule {rule_obj.id}: {type(exc).__name__}: {exc} "
                f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno}); please report it",
                severity=Severity.ERROR,
            )
        ]
    if not findings:
        return [Finding(rule_obj.id, Verdict.PASS, rule_obj.title, severity=rule_obj.severity)]
    return findings


def rules_for_lane(lane: str) -> list[Rule[Any]]:
    from . import LANE_PACKAGES, load_lane

    if lane in LANE_PACKAGES:  # a lane with no package (a test's toy lane) registered its rules directly
        load_lane(lane)
    return [r for r in RULES.values() if r.lane == lane]


def redact_finding(finding: Finding, redact: Callable[[str], str]) -> Finding:
    return replace(
        finding,
        message=redact(finding.message),
        expected=redact(finding.expected),
        found=redact(finding.found),
        evidence=tuple((k, redact(v)) for k, v in finding.evidence),
    )

"""The rule engine with a lane of its own: any context type works, a needs_render rule reads a narrowed view
(and is skipped without a render), a crash is an ERROR finding, no failure is one PASS."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest

from quickmeet_conformance.findings import Finding, Verdict
from quickmeet_conformance.rules import engine
from quickmeet_conformance.rules.engine import NOT_RENDERED, RULES, Rule, evaluate_rule, rule
from quickmeet_conformance.values import ValuesFile


@dataclass(frozen=True)
class Rendered:
    """The toy lane's render-narrowed view: ``pods`` is never None here."""

    pods: int
    values_file: ValuesFile | None = None


@dataclass(frozen=True)
class ToyContext:
    """A lane context the engine has never heard of (as the probe lane's is)."""

    pods: int | None
    values_file: ValuesFile | None = None

    def rendered_view(self) -> Rendered | None:
        return None if self.pods is None else Rendered(self.pods)


@pytest.fixture
def registry() -> Iterator[None]:
    """Rules registered by a test leave the registry as they found it."""
    before = dict(RULES)
    yield
    RULES.clear()
    RULES.update(before)


def _declare(rule_id: str, *, needs_render: bool) -> Rule:
    if needs_render:

        @rule(
            rule_id,
            title="at most one pod",
            contract="CONTRACT.md > Components",
            fix="scale to 1",
            lane="toy",
        )
        def one_pod(ctx: Rendered, r: Rule) -> Iterable[Finding]:
            if ctx.pods > 1:
                yield r.fail(ctx, f"{ctx.pods} pods", expected="1", found=str(ctx.pods), key_path="replicas")

    else:

        @rule(
            rule_id,
            title="pods known",
            contract="CONTRACT.md > Components",
            fix="-",
            needs_render=False,
            lane="toy",
        )
        def pods_known(ctx: ToyContext, r: Rule) -> Iterable[Finding]:
            return [] if ctx.pods is not None else [r.fail(ctx, "unknown")]

    return RULES[rule_id]


def test_a_needs_render_rule_reads_the_narrowed_view_of_any_lane(registry: None) -> None:
    toy = _declare("toy.one-pod", needs_render=True)
    assert toy.lane == "toy" and toy.needs_render and toy.check.__name__ == "one_pod"
    (failed,) = evaluate_rule(ToyContext(pods=2), toy)
    assert failed.verdict == Verdict.FAIL and failed.found == "2" and failed.location is None, failed
    (passed,) = evaluate_rule(ToyContext(pods=1), toy)
    assert passed.verdict == Verdict.PASS and passed.message == "at most one pod", passed
    (skipped,) = evaluate_rule(ToyContext(pods=None), toy)
    assert skipped.verdict == Verdict.SKIP and skipped.message == NOT_RENDERED, skipped


def test_a_rule_without_render_reads_the_context_as_it_is(registry: None) -> None:
    toy = _declare("toy.pods-known", needs_render=False)
    assert [f.verdict for f in evaluate_rule(ToyContext(pods=None), toy)] == [Verdict.FAIL]
    assert [f.verdict for f in evaluate_rule(ToyContext(pods=3), toy)] == [Verdict.PASS]


def test_a_crashing_rule_is_an_error_finding_never_a_pass(registry: None) -> None:
    @rule("toy.crash", title="crashes", contract="-", fix="-", needs_render=False, lane="toy")
    def crash(ctx: ToyContext, r: Rule) -> Iterable[Finding]:
        raise KeyError("spec")

    (found,) = evaluate_rule(ToyContext(pods=1), RULES["toy.crash"])
    assert found.verdict == Verdict.ERROR and "internal error in rule toy.crash: KeyError" in found.message, (
        found
    )
    assert "test_engine.py" in found.message, found


def test_a_rule_id_registers_once(registry: None) -> None:
    _declare("toy.twice", needs_render=False)
    with pytest.raises(ValueError, match="registered twice"):
        _declare("toy.twice", needs_render=False)
    assert engine.rules_for_lane("toy") == [RULES["toy.twice"]]

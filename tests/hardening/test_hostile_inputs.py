"""Hostile input never breaks the framework: each case runs the real plugin in a subprocess and must end
in one clear line naming the bad file, no traceback, a non-zero exit, in bounded time, never a pass.

The corpus is generated into a temporary directory; all runs start together (they are independent
subprocesses) so the whole corpus costs about as much as its slowest case.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from suite_runner import HELM3, REPO, Run, run_suite

GOOD_VALUES = "fixtures/values/monolith.yaml"
CHART = REPO / "fixtures/charts/rocketchat"
# an unusual number per test process (xdist workers run side by side), to find leftover sleepers by command line
HANG_SECONDS = 1000 + os.getpid() % 8999
HELM_TIMEOUT = "2"
MAX_SECONDS = 45.0


@dataclass(frozen=True)
class Hostile:
    id: str
    build: Callable[[Path], tuple[list[str], str]]  # tmp dir -> (pytest args, the file the error must name)
    says: tuple[str, ...]  # what the one line must say (any of)
    exit_codes: tuple[int, ...] = (1, 4)  # 1: a rule failed (render.succeeds), 4: setup stopped the run


def _values(name: str, content: str | bytes) -> Callable[[Path], tuple[list[str], str]]:
    def build(tmp: Path) -> tuple[list[str], str]:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return ["--values", str(path), "--helm", HELM3], str(path)

    return build


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _chart(name: str, mutate: Callable[[Path], None]) -> Callable[[Path], tuple[list[str], str]]:
    def build(tmp: Path) -> tuple[list[str], str]:
        chart = tmp / name / "rocketchat"
        shutil.copytree(CHART, chart)
        mutate(chart)
        return ["--values", GOOD_VALUES, "--helm", HELM3, "--chart", str(chart)], str(chart)

    return build


def _write(rel: str, text: str) -> Callable[[Path], None]:
    return lambda chart: (chart / rel).write_text(text, encoding="utf-8")


def _broken_tgz(tmp: Path) -> tuple[list[str], str]:
    good = tmp / "good.tgz"
    with tarfile.open(good, "w:gz") as tar:
        tar.add(CHART, arcname="rocketchat")
    data = good.read_bytes()
    path = tmp / "rocketchat-2.0.0.tgz"
    path.write_bytes(data[: len(data) // 2])  # truncated mid-stream
    return ["--values", GOOD_VALUES, "--helm", HELM3, "--chart", str(path)], str(path)


def _helm_script(name: str, body: str) -> Callable[[Path], tuple[list[str], str]]:
    def build(tmp: Path) -> tuple[list[str], str]:
        path = tmp / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(0o755)
        return ["--values", GOOD_VALUES, "--helm", str(path), "--helm-timeout", HELM_TIMEOUT], str(path)

    return build


CASES = [
    # values files
    Hostile(
        "malformed-yaml", _values("malformed.yaml", "replicaCount: [1, 2\nhost: {a\n"), ("invalid YAML",)
    ),
    Hostile("alias-bomb", _values("bomb.yaml", _alias_bomb()), ("alias",)),
    Hostile(
        "deep-flow-10k",
        _values("deep-flow.yaml", "a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
        ("nesting",),
    ),
    Hostile(
        "deep-block",
        _values(
            "deep-block.yaml", "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x: 1\n"
        ),
        ("nesting",),
    ),
    Hostile(
        "huge-file",
        _values("huge.yaml", "replicaCount: 2\n# " + "x" * (4 * 1024 * 1024 + 10) + "\n"),
        ("bytes",),
    ),
    Hostile("not-utf8", _values("latin1.yaml", "host: caf\xe9.example.com\n".encode("latin-1")), ("UTF-8",)),
    Hostile("nul-bytes", _values("nul.yaml", b"replicaCount: 2\x00\x00\n"), ("invalid YAML", "UTF-8")),
    Hostile("top-level-list", _values("list.yaml", "- replicaCount: 2\n"), ("not a map",)),
    Hostile("duplicate-key", _values("dup.yaml", "replicaCount: 2\nreplicaCount: 3\n"), ("duplicate key",)),
    Hostile(
        "two-documents", _values("two.yaml", "replicaCount: 2\n---\nreplicaCount: 3\n"), ("YAML documents",)
    ),
    Hostile(
        "python-tag",
        _values("tag.yaml", "x: !!python/object/apply:os.system ['touch /tmp/qmc-pwned']\n"),
        ("unsupported YAML",),
    ),
    Hostile(
        "missing-file",
        lambda tmp: (["--values", str(tmp / "nope.yaml"), "--helm", HELM3], str(tmp / "nope.yaml")),
        ("not found",),
    ),
    Hostile(
        "endless-device", lambda tmp: (["--values", "/dev/zero", "--helm", HELM3], "/dev/zero"), ("bytes",)
    ),
    Hostile("directory", lambda tmp: (["--values", str(tmp), "--helm", HELM3], str(tmp)), ("directory",)),
    # charts
    Hostile(
        "chart-fails",
        _chart("fails", _write("templates/zz-fail.yaml", '{{ fail "this chart refuses everything" }}\n')),
        ("this chart refuses everything",),
        (1,),
    ),
    Hostile(
        "chart-invalid-yaml",
        _chart("badyaml", _write("templates/zz-bad.yaml", "kind: ConfigMap\ndata:\n  a: [unclosed\n")),
        ("YAML",),
        (1,),
    ),
    Hostile(
        "chart-renders-scalar",
        _chart("scalar", _write("templates/zz-scalar.yaml", "just a string\n")),
        ("zz-scalar.yaml",),
        (1,),
    ),
    Hostile(
        "chart-without-chart-yaml",
        _chart("nochart", lambda chart: (chart / "Chart.yaml").unlink()),
        ("no Chart.yaml",),
        (4,),
    ),
    Hostile(
        "chart-yaml-invalid",
        _chart("badmeta", _write("Chart.yaml", "name: [rocketchat\n")),
        ("Chart.yaml",),
        (4,),
    ),
    Hostile(
        "chart-values-not-utf8",
        _chart("badvalues", lambda chart: (chart / "values.yaml").write_bytes(b"a: \xff\n")),
        ("UTF-8",),
        (4,),
    ),
    Hostile("broken-tgz", _broken_tgz, ("not a readable chart archive",), (4,)),
    # helm binaries
    Hostile(
        "helm-hangs-on-version",
        _helm_script("hang-helm", f"sleep {HANG_SECONDS}\n"),
        ("did not answer within",),
        (4,),
    ),
    Hostile(
        "helm-hangs-on-template",
        _helm_script(
            "hang-template-helm", f'case "$1" in version) echo v3.17.3;; *) sleep {HANG_SECONDS};; esac\n'
        ),
        ("took more than",),
        (1,),
    ),
    Hostile("helm-too-old", _helm_script("old-helm", "echo v3.2.0\n"), ("too old",), (4,)),
    Hostile("helm-not-helm", _helm_script("not-helm", "echo hello\n"), ("not a helm version",), (4,)),
    Hostile(
        "helm-missing",
        lambda tmp: (["--values", GOOD_VALUES, "--helm", str(tmp / "no-helm")], str(tmp / "no-helm")),
        ("not found",),
        (4,),
    ),
    # report targets (checked before anything runs)
    Hostile(
        "sarif-unwritable",
        lambda tmp: (
            ["--values", GOOD_VALUES, "--helm", HELM3, "--sarif", "/proc/qmc/x.sarif"],
            "/proc/qmc/x.sarif",
        ),
        ("cannot write",),
        (4,),
    ),
    Hostile(
        "report-is-directory",
        lambda tmp: (["--values", GOOD_VALUES, "--helm", HELM3, "--conformance-report", str(tmp)], str(tmp)),
        ("is a directory",),
        (4,),
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, str]]:
    """Every case's run, started together."""
    jobs = {}
    for case in CASES:
        tmp = tmp_path_factory.mktemp(case.id)
        jobs[case.id] = case.build(tmp)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {cid: pool.submit(run_suite, *args) for cid, (args, _) in jobs.items()}
        return {cid: (f.result(), jobs[cid][1]) for cid, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gives_one_clear_line(case: Hostile, runs: dict[str, tuple[Run, str]]) -> None:
    run, named = runs[case.id]
    assert run.returncode != 0, f"hostile input passed:\n{run.explain()}"
    assert run.returncode in case.exit_codes, f"unexpected exit code:\n{run.explain()}"
    assert "Traceback" not in run.output and "INTERNALERROR" not in run.output, run.explain()
    assert run.seconds < MAX_SECONDS, run.explain()
    shown = (named, os.path.relpath(named, REPO), Path(named).name)
    lines = [
        ln
        for ln in run.output.splitlines()
        if any(s in ln for s in shown) and any(w in ln for w in case.says)
    ]
    assert lines, f"no line names {Path(named).name} and says one of {case.says}:\n{run.explain()}"
    assert min(len(ln) for ln in lines) < 600, f"the reason is not one short line:\n{lines[0][:2000]}"
    if run.returncode == 4:  # setup stopped the run: nothing was tested, and pytest says why on stderr
        assert any(ln.startswith("ERROR: ") for ln in lines), run.explain()


def test_python_tags_are_never_executed(runs: dict[str, tuple[Run, str]]) -> None:
    assert not Path("/tmp/qmc-pwned").exists(), "a !!python tag in a values file ran a command"


def test_a_hung_helm_leaves_no_process_behind(runs: dict[str, tuple[Run, str]]) -> None:
    leftovers = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"sleep {HANG_SECONDS}" in cmdline:
            leftovers.append(f"{proc.name}: {cmdline}")
    assert not leftovers, f"processes of a timed-out helm still run: {leftovers}"


def test_templates_in_values_render_as_literals(tmp_path: Path) -> None:
    """A values string that looks like a template is data: helm renders it verbatim, never executes it."""
    values = tmp_path / "templated.yaml"
    values.write_text(
        'host: "{{ .Release.Name }}.example.com"\n'
        "ingress:\n  enabled: true\n  ingressClassName: nginx\n"
        "  annotations:\n    nginx.ingress.kubernetes.io/configuration-snippet: '{{ fail \"executed\" }}'\n",
        encoding="utf-8",
    )
    out = tmp_path / "report.json"
    run = run_suite("--values", str(values), "--helm", HELM3, "--conformance-report", str(out), "-q")
    assert "Traceback" not in run.output, run.explain()
    assert "executed" not in run.output.replace('{{ fail "executed" }}', ""), run.explain()
    verdicts = {
        r["id"]: r["verdict"] for r in json.loads(out.read_text(encoding="utf-8"))["cases"][0]["rules"]
    }
    assert verdicts["render.succeeds"] == "pass", run.explain()
    from quickmeet_conformance.charts import load_chart
    from quickmeet_conformance.helm import resolve_helm
    from quickmeet_conformance.render import Renderer, RenderRequest
    from quickmeet_conformance.values import load_values

    chart = load_chart(str(CHART), version=None, helm_path=HELM3, workdir=tmp_path)
    rendered = Renderer(resolve_helm(HELM3)).render(RenderRequest(chart, load_values(values).data))
    ingress = rendered.find("Ingress")[0].body
    assert ingress["spec"]["rules"][0]["host"] == "{{ .Release.Name }}.example.com"
    assert (
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/configuration-snippet"]
        == '{{ fail "executed" }}'
    )


def test_keys_with_dots_and_slashes_are_located(tmp_path: Path) -> None:
    values = tmp_path / "dotted.yaml"
    values.write_text(
        'ingress:\n  annotations:\n    nginx.ingress.kubernetes.io/proxy-body-size: 10m\n"a.b/c": 1\n',
        encoding="utf-8",
    )
    run = run_suite("--values", str(values), "--helm", HELM3, "-q")
    assert run.returncode == 1 and "Traceback" not in run.output, run.explain()
    assert f'{values}:4:1 (["a.b/c"])' in run.output, run.explain()
    assert "proxy-body-size" not in run.output, "an annotation key was reported as ignored"

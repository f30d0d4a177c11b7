"""``conformance check`` and the customer's pytest route (issue 11): layered values merged exactly as
``helm -f a -f b`` merges them (compared with helm itself), findings located at the layer that set the key,
exit codes, report formats, an unsupported --kube-version, and only the customer's files being checked."""

from __future__ import annotations

import io
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from suite_runner import Run, run_pytest

from quickmeet_conformance.cli import main
from quickmeet_conformance.values import deep_merge, load_values

REPO = Path(__file__).resolve().parents[1]
HELM3 = str(REPO / ".tools" / "bin" / "helm3")
GOOD = REPO / "fixtures" / "values" / "microservices-scaled.yaml"

# each layer exercises one of helm's merge rules: later wins, maps merge deeply, lists replace, null deletes
BASE = """\
replicaCount: 2
microservices:
  enabled: true
  ddpStreamer:
    replicas: 3
  presence:
    replicas: 2
ingress:
  enabled: true
  tls:
    - secretName: a
      hosts: [a.example.com, b.example.com]
mongodb:
  auth:
    passwords: [one, two]
extra:
  keep: 1
"""
PROD = """\
microservices:
  ddpStreamer:
    replicas: 4
  streamHub:
    replicas: 2
  presence: null
ingress:
  tls:
    - secretName: c
mongodb: {auth: {passwords: [three]}}
extra: null
"""
LAST = """\
extra:
  back: true
replicaCount: 1
"""

DEBUG_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: values
data:
  values: {{ toJson .Values | quote }}
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def layers(tmp_path: Path) -> list[Path]:
    files = []
    for name, text in (("base.yaml", BASE), ("prod.yaml", PROD), ("last.yaml", LAST)):
        (tmp_path / name).write_text(text)
        files.append(tmp_path / name)
    return files


def _customer_pytest(*args: str) -> Run:
    """``pytest ARGS`` in the checkout as a customer runs it: the plugin loaded by its entry point, no QMC_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMC_")}
    return run_pytest(*args, env=env, plugin=False, timeout_s=300)


def _helm_values(chart: Path, args: list[str], stdin: str | None = None) -> dict:
    proc = subprocess.run(
        [HELM3, "template", "r", str(chart), "--show-only", "templates/debug.yaml", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(yaml.safe_load(proc.stdout)["data"]["values"])


def test_layered_values_merge_exactly_as_helm_does(layers: list[Path], tmp_path: Path) -> None:
    """The values helm's templates see for ``-f base -f prod -f last`` equal those for our merged layers
    (sent as one values document, as the renderer does) and our model of them (chart defaults + layers)."""
    chart = tmp_path / "debug-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: debug\nversion: 0.1.0\n")
    defaults = {
        "replicaCount": 1,
        "microservices": {
            "enabled": False,
            "presence": {"replicas": 1},
            "streamHub": {"replicas": 1, "enabled": True},
        },
        "extra": {"keep": 0, "default": True},
        "mongodb": {"enabled": True},
    }
    (chart / "values.yaml").write_text(yaml.safe_dump(defaults))
    (chart / "templates" / "debug.yaml").write_text(DEBUG_TEMPLATE)
    by_helm = _helm_values(chart, [arg for f in layers for arg in ("-f", str(f))])
    merged = load_values("+".join(str(f) for f in layers))
    ours_through_helm = _helm_values(chart, ["--values", "-"], stdin=json.dumps(merged.data))
    assert ours_through_helm == by_helm
    assert deep_merge(defaults, merged.data) == by_helm
    assert (
        by_helm["microservices"]["ddpStreamer"] == {"replicas": 4}
        and "presence" not in by_helm["microservices"]
    )
    assert by_helm["ingress"]["tls"] == [{"secretName": "c"}]
    # a later layer's map over an earlier layer's null merges with the chart default again, as in helm
    assert by_helm["extra"] == {"back": True, "keep": 0, "default": True}


def test_each_key_keeps_the_layer_line_and_column_that_set_it(layers: list[Path]) -> None:
    base, prod, last = (str(p) for p in layers)
    merged = load_values(f"{base}+{prod}+{last}")
    expected = {
        "replicaCount": (last, 3, 1),
        "microservices.enabled": (base, 3, 3),
        "microservices.ddpStreamer.replicas": (prod, 3, 5),
        "microservices.presence": (prod, 6, 3),
        "ingress.tls[0].secretName": (prod, 9, 7),
        "mongodb.auth.passwords[0]": (prod, 10, 30),
        "extra.back": (last, 2, 3),
    }
    for key_path, (file, line, column) in expected.items():
        pos = merged.position(key_path)
        assert (merged.file_of(pos), pos.line, pos.column) == (file, line, column), key_path
    for stale in (
        "ingress.tls[0].hosts",
        "mongodb.auth.passwords[1]",
        "extra.keep",
        "microservices.presence.replicas",
    ):
        assert stale not in merged.positions, (
            f"{stale} was replaced by a later layer but kept its old position"
        )


def test_check_points_findings_at_the_layer_that_set_the_key(layers: list[Path], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, err = cli(
        "check", "+".join(str(p) for p in layers), "--helm", HELM3, "--format", "json", "-o", str(report)
    )
    assert code == 1, out + err
    (case,) = json.loads(report.read_text())["cases"]
    (schema,) = [r for r in case["rules"] if r["id"] == "values.schema"]
    (finding,) = [
        f for f in schema["findings"] if f["location"]["key_path"] == "microservices.streamHub.replicas"
    ]
    assert (finding["location"]["file"], finding["location"]["line"], finding["location"]["column"]) == (
        str(layers[1]),
        5,
        5,
    ), finding


def test_repeated_f_is_one_layered_case_and_positionals_are_cases(layers: list[Path]) -> None:
    code, out, _ = cli("check", str(GOOD), "-f", str(layers[0]), "-f", str(layers[1]), "--helm", HELM3)
    assert code == 1
    assert f"{GOOD.relative_to(REPO) if Path.cwd() == REPO else GOOD}" in out or str(GOOD) in out
    assert f"{layers[0]}+{layers[1]}" in out and "result: NOT conformant - 1 of 2 cases" in out, out


def test_exit_codes_and_formats(tmp_path: Path) -> None:
    code, out, err = cli("check", str(GOOD), "--helm", HELM3)
    assert code == 0 and "result: conformant" in out and not err, out + err
    code, out, _ = cli("check", str(GOOD), "--helm", HELM3, "--strict")
    assert code == 1 and "NOT conformant" in out, out  # hygiene warnings fail under --strict
    bad = tmp_path / "bad.yaml"
    bad.write_text("microservices:\n  enabled: true\n  ddpStreamers: {replicas: 2}\n")
    code, out, _ = cli(
        "check", str(bad), "--helm", HELM3, "--format", "junit", "--sarif", str(tmp_path / "x.sarif")
    )
    suites = ET.fromstring(out)
    assert code == 1 and int(suites.get("failures")) >= 1, out
    failed = [c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None]
    assert "values.ignored-keys[bad@helm3]" in failed, failed
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    assert any(r["ruleId"] == "values.ignored-keys" for r in sarif["runs"][0]["results"])
    code, out, err = cli("check", str(tmp_path / "missing.yaml"), "--helm", HELM3)
    assert code == 2 and not out and err.count("\n") == 1 and "values file not found" in err, err
    code, _, err = cli("check", str(GOOD), "--helm", str(tmp_path / "no-helm"))
    assert code == 2 and "helm binary not found" in err, err
    with pytest.raises(SystemExit) as usage:
        cli("check", str(GOOD), "--format", "yaml")
    assert usage.value.code == 2


def test_check_of_an_upgrade(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, out, err = cli(
        "check",
        str(GOOD),
        "--upgrade-from",
        str(REPO / "fixtures/values/monolith.yaml"),
        "--helm",
        HELM3,
        "--format",
        "json",
        "-o",
        str(report),
    )
    data = json.loads(report.read_text())
    assert code in (0, 1) and len(data["cases"]) == 1 and len(data["upgrades"]) == 1, out + err
    assert data["upgrades"][0]["plan"]["created"], data["upgrades"][0]["plan"]


def test_unsupported_kube_version_is_one_line_in_both_routes(tmp_path: Path) -> None:
    code, out, err = cli("check", str(GOOD), "--helm", HELM3, "--kube-version", "1.99.0")
    assert code == 2 and not out and err.count("\n") == 1, err
    assert "--kube-version 1.99.0 has no bundled offline schema (supported: 1.25," in err and "1.37" in err, (
        err
    )
    proc = _customer_pytest(
        "suites/static", "-q", "--values", str(GOOD), "--helm", HELM3, "--kube-version", "1.99.0"
    )
    output = proc.output
    assert proc.returncode == 4 and "has no bundled offline schema (supported: 1.25" in output, output
    assert "Traceback" not in output


def test_customer_values_run_only_the_customer_files() -> None:
    """With --values given, the project's upgrade matrix and its default KWOK cluster stay out of the run."""
    proc = _customer_pytest(
        "suites/static", "suites/upgrade", "suites/live", "-q", "-rs", "--values", str(GOOD), "--helm", HELM3
    )
    output = proc.output
    assert proc.returncode == 0, output
    assert "no upgrade pair named" in output and "--cluster none" in output, output
    assert "seed-docs" not in output and "monolith-to-microservices" not in output, output


def test_pytest_route_takes_layered_values(layers: list[Path]) -> None:
    """--values base.yaml+prod.yaml is one case under pytest too; its findings name the layer that set the key."""
    spec = f"{layers[0]}+{layers[1]}"
    proc = _customer_pytest("suites/static/test_values.py", "-q", "--values", spec, "--helm", HELM3)
    output = proc.output
    assert proc.returncode == 1 and "[base+prod@helm3]" in output, output
    assert f"{layers[1]}:5:5 (microservices.streamHub.replicas)" in output, output


# -- --chart-version, --chart-repo and a repository never added (no network: a fake helm answers 'pull') ----------

ROCKETCHAT_REPO = "https://rocketchat.github.io/helm-charts"
REFERENCE_CHART = REPO / "fixtures" / "charts" / "rocketchat"


@pytest.fixture
def pull_helm(tmp_path: Path) -> tuple[Path, Path]:
    """A helm that records each 'helm pull' argv (one argument a line) and answers it offline as helm does
    without 'helm repo add': 'repo <name> not found' for REPO/NAME, the reference chart for --repo URL NAME;
    every other command is the real helm 3."""
    log = tmp_path / "pull-argv.txt"
    script = tmp_path / "bin" / "helm"
    script.parent.mkdir()
    script.write_text(
        f"""#!/bin/sh
if [ "$1" = pull ]; then
  printf '%s\\n' "$@" > '{log}'
  prev=""; dest=""; repo=""
  for arg in "$@"; do
    [ "$prev" = --untardir ] && dest="$arg"
    [ "$prev" = --repo ] && repo="$arg"
    prev="$arg"
  done
  if [ -z "$repo" ]; then echo "Error: repo ${{2%%/*}} not found" >&2; exit 1; fi
  cp -r '{REFERENCE_CHART}' "$dest/rocketchat"
  exit 0
fi
exec '{HELM3}' "$@"
"""
    )
    script.chmod(0o755)
    return script, log


def _pulled_argv(log: Path) -> list[str]:
    argv = log.read_text().splitlines()
    untardir = argv.index("--untardir")
    return argv[:untardir] + ["--untardir", "<dir>"] + argv[untardir + 2 :]


def test_chart_version_with_a_chart_directory_or_tgz_is_a_usage_error(tmp_path: Path) -> None:
    """--chart-version used to be ignored silently for a directory or .tgz (and the bundled chart)."""
    tgz = tmp_path / "rocketchat-2.0.0.tgz"
    subprocess.run(
        ["tar", "-czf", str(tgz), "-C", str(REFERENCE_CHART.parent), "rocketchat"], check=True, timeout=60
    )
    for chart in (str(REFERENCE_CHART), str(tgz)):
        code, out, err = cli(
            "check", str(GOOD), "--helm", HELM3, "--chart", chart, "--chart-version", "6.29.0"
        )
        assert code == 2 and not out and err.count("\n") == 1, err
        assert "--chart-version 6.29.0 applies only to a REPO/NAME chart" in err and chart in err, err
        assert "Traceback" not in err
    code, out, err = cli("check", str(GOOD), "--helm", HELM3, "--chart-version", "6.29.0")
    assert code == 2 and not out and err.count("\n") == 1, err
    assert "--chart-version 6.29.0 applies only to a REPO/NAME chart" in err and "--chart" in err, err
    code, out, err = cli(
        "check",
        str(GOOD),
        "--helm",
        HELM3,
        "--upgrade-from",
        str(GOOD),
        "--from-chart",
        str(REFERENCE_CHART),
        "--from-chart-version",
        "6.27.1",
    )
    assert code == 2 and err.count("\n") == 1 and "--from-chart-version 6.27.1 applies only" in err, err


@pytest.mark.parametrize(
    "chart,command",
    [
        ("rocketchat/rocketchat", f"helm repo add rocketchat {ROCKETCHAT_REPO}"),
        ("acme/chat", "helm repo add acme <URL of that chart repository>"),
    ],
)
def test_a_repository_never_added_says_the_helm_repo_add_to_run(
    chart: str, command: str, pull_helm: tuple[Path, Path]
) -> None:
    helm, log = pull_helm
    code, out, err = cli(
        "check", str(GOOD), "--helm", str(helm), "--chart", chart, "--chart-version", "6.29.0"
    )
    assert code == 2 and not out and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"run '{command}' first" in err and err.startswith(f"conformance: {chart}: "), err
    assert _pulled_argv(log) == ["pull", chart, "--untar", "--untardir", "<dir>", "--version", "6.29.0"]


@pytest.mark.parametrize("helm_major", ["helm3", "helm4"])
def test_real_helm_without_the_repository_gives_the_same_line(
    helm_major: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line is built from what helm itself prints (no network: the repository list is empty)."""
    monkeypatch.setenv("HELM_REPOSITORY_CONFIG", str(tmp_path / "repositories.yaml"))
    monkeypatch.setenv("HELM_REPOSITORY_CACHE", str(tmp_path / "cache"))
    helm = str(REPO / ".tools" / "bin" / helm_major)
    code, out, err = cli("check", str(GOOD), "--helm", helm, "--chart", "rocketchat/rocketchat")
    assert code == 2 and not out and err.count("\n") == 1, err
    assert f"'helm repo add rocketchat {ROCKETCHAT_REPO}'" in err, err


@pytest.mark.parametrize("chart", ["rocketchat", "rocketchat/rocketchat"])
def test_chart_repo_pulls_with_helm_pull_repo(chart: str, pull_helm: tuple[Path, Path]) -> None:
    helm, log = pull_helm
    code, out, err = cli(
        "check",
        str(GOOD),
        "--helm",
        str(helm),
        "--chart",
        chart,
        "--chart-repo",
        ROCKETCHAT_REPO,
        "--chart-version",
        "6.29.0",
    )
    assert code == 0 and "result: conformant" in out, out + err
    assert f"from {ROCKETCHAT_REPO}/rocketchat" in out, out
    assert _pulled_argv(log) == [
        "pull",
        "--repo",
        ROCKETCHAT_REPO,
        "rocketchat",
        "--untar",
        "--untardir",
        "<dir>",
        "--version",
        "6.29.0",
    ]


def test_chart_repo_mistakes_are_one_line(tmp_path: Path) -> None:
    for argv, says in (
        (["--chart-repo", ROCKETCHAT_REPO], "needs --chart NAME"),
        (["--chart", str(REFERENCE_CHART), "--chart-repo", ROCKETCHAT_REPO], "applies only to a chart NAME"),
        (["--chart", "rocketchat", "--chart-repo", "rocketchat.github.io"], "not an http(s) URL"),
        (
            ["--reuse-values"],
            "--reuse-values simulates 'helm upgrade --reuse-values' and needs --upgrade-from",
        ),
    ):
        code, out, err = cli("check", str(GOOD), "--helm", HELM3, *argv)
        assert code == 2 and not out and err.count("\n") == 1 and says in err, (argv, err)

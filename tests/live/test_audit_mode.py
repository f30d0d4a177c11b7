"""The read-only audit of a deployed release (``--cluster existing --release NAME --namespace NS``).

The audit runs in a pytest subprocess as a ServiceAccount that may only get/list/watch (the kwok provider's
read-only kubeconfig), with every Kubernetes API request logged (QMC_API_LOG: method and path) and helm
through a wrapper that logs its argv: the check is that the audit passes, that mutating suites are refused,
and that no write was ever sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quickmeet_conformance.clusters.kubeclient import API_LOG_ENV, WRITE_METHODS
from quickmeet_conformance.clusters.providers.kwok import KwokClusterProvider
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.audit import audit_release
from quickmeet_conformance.live.case import LiveCaseResult
from quickmeet_conformance.live.release import HELM_WRITE_VERBS
from quickmeet_conformance.live.scenario import LiveLane

pytestmark = pytest.mark.live

_HELM_GLOBALS = {"--kubeconfig", "--kube-context", "--namespace", "--output", "--template"}


def verb(argv: str, globals_with_value: set[str]) -> str:
    """The subcommand of a logged command line (global flags and their values skipped)."""
    words = argv.split()
    index = 0
    while index < len(words):
        word = words[index]
        if word in globals_with_value:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return word
    return ""


def test_audit_is_read_only_and_passes(
    installed_release: LiveCaseResult,
    kwok_live_provider: KwokClusterProvider,
    tmp_path: Path,
    recording_wrapper,
    run_pytest,
    helm3_path: Path,
) -> None:
    readonly = kwok_live_provider.readonly_kubeconfig(tmp_path / "readonly.kubeconfig")
    api_log, helm_log = tmp_path / "api.log", tmp_path / "helm.log"
    helm = recording_wrapper(tmp_path / "bin", "helm", helm3_path, helm_log)
    proc = run_pytest(
        [
            "suites/static",
            "suites/upgrade",
            "suites/live",
            "--cluster",
            "existing",
            "--kubeconfig",
            str(readonly),
            "--kube-context",
            kwok_live_provider.handle.context,
            "--release",
            installed_release.release,
            "--namespace",
            installed_release.namespace,
            "--helm",
            str(helm),
            "-rs",
            "-q",
        ],
        env={API_LOG_ENV: str(api_log)},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the audit failed (exit {proc.returncode}):\n{output[-6000:]}"
    assert "refused in audit mode" in output, f"mutating suites were not refused:\n{output[-3000:]}"
    # the bundled values files and upgrade matrix are not the audited release: not rendered (no helm template)
    assert "not run in audit mode" in output, f"the project's own cases ran in audit mode:\n{output[-3000:]}"
    assert " passed" in output, output[-3000:]
    api_calls = api_log.read_text().splitlines()
    helm_calls = helm_log.read_text().splitlines()
    api_methods = {c.split(" ", 1)[0] for c in api_calls}
    helm_verbs = {verb(c, _HELM_GLOBALS) for c in helm_calls}
    assert any(f" /api/v1/namespaces/{installed_release.namespace}/" in c for c in api_calls), (
        f"the audit's API requests were not logged: {api_calls[:10]}"
    )
    assert {"status", "get"} <= helm_verbs, f"helm was not used through the wrapper: {helm_calls[:10]}"
    writes = sorted((api_methods & WRITE_METHODS) | (helm_verbs & HELM_WRITE_VERBS))
    assert not writes, f"the audit sent writes {writes}:\n" + "\n".join(api_calls + helm_calls)
    assert api_methods == {"GET"}, api_methods
    assert helm_verbs <= {"get", "status", "version"}, helm_verbs


def test_audit_reports_hand_edits_as_drift(
    installed_release: LiveCaseResult, live_lane: LiveLane, helm3_path: Path
) -> None:
    """kubectl scale / set image after the install: the audit's drift rule names both (the release stays as is)."""
    ns = installed_release.namespace
    live_lane.kube.patch("Deployment", "rocketchat-presence", {"spec": {"replicas": 2}}, ns)  # kubectl scale
    image = "registry.rocket.chat/rocketchat/ddp-streamer-service:7.8.1-hotfix"  # kubectl set image
    live_lane.kube.patch(
        "Deployment",
        "rocketchat-ddp-streamer",
        {"spec": {"template": {"spec": {"containers": [{"name": "ddp-streamer", "image": image}]}}}},
        ns,
    )
    result = audit_release(live_lane, resolve_helm(str(helm3_path)), installed_release.release, ns)
    drift = [f for f in result.findings["live.drift"] if f.verdict == Verdict.FAIL]
    text = "\n".join(f.one_line() for f in drift)
    assert "Deployment/rocketchat-presence runs 2 replicas; the release says 1" in text, text
    assert "ddp-streamer-service:7.8.1-hotfix" in text, text
    assert result.static_verdict("wiring.transporter") == Verdict.PASS, (
        "static rules did not run on the release"
    )


def test_audit_of_a_missing_release_is_one_clear_line(
    kwok_live_provider: KwokClusterProvider, tmp_path: Path, run_pytest
) -> None:
    readonly = kwok_live_provider.readonly_kubeconfig(tmp_path / "readonly.kubeconfig")
    proc = run_pytest(
        [
            "suites/live/test_topology.py",
            "--cluster",
            "existing",
            "--kubeconfig",
            str(readonly),
            "--kube-context",
            kwok_live_provider.handle.context,
            "--release",
            "no-such-release",
            "--namespace",
            "default",
            "-q",
            "-k",
            "workloads",
        ],
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "release: not found" in output and "Traceback" not in output, output[-3000:]

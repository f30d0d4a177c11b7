"""Project defaults: the bundled reference chart, every values fixture, the upgrade matrix, the helm majors that
are installed, a kwok cluster for the live lane."""

from pathlib import Path

PROJECT_HELMS = (".tools/bin/helm3", ".tools/bin/helm4")


def installed_helms(root: Path) -> list[str]:
    """The project's helm binaries that exist below ``root`` (both majors after scripts/install.sh, which CI
    relies on; only helm3 after ``scripts/install.sh --static``), else ``helm`` on PATH."""
    return [rel for rel in PROJECT_HELMS if (root / rel).is_file()] or ["helm"]


def pytest_conformance_defaults(config):
    return {
        "chart": "fixtures/charts/rocketchat",
        "values_dir": "fixtures/values",
        "upgrades_dir": "fixtures/upgrades",
        "helm": installed_helms(Path(config.rootpath)),
        "cluster": "kwok",
        "live_prerequisites_dir": "fixtures/live/prerequisites",
        # chart defects of the released public chart that the upgrade matrix meets (each pinned in tests/upstream)
        "waivers": "fixtures/waivers/public-chart-defects.yaml",
    }

"""Project defaults: the bundled reference chart, every values fixture, the upgrade matrix, both helm majors,
a kwok cluster for the live lane."""


def pytest_conformance_defaults(config):
    return {
        "chart": "fixtures/charts/rocketchat",
        "values_dir": "fixtures/values",
        "upgrades_dir": "fixtures/upgrades",
        "helm": [".tools/bin/helm3", ".tools/bin/helm4"],
        "cluster": "kwok",
        "live_prerequisites_dir": "fixtures/live/prerequisites",
    }

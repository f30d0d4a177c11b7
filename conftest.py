"""Project defaults: the bundled reference chart, every values fixture, and both helm majors."""


def pytest_conformance_defaults(config):
    return {
        "chart": "fixtures/charts/rocketchat",
        "values_dir": "fixtures/values",
        "helm": [".tools/bin/helm3", ".tools/bin/helm4"],
    }

"""Packaging beyond pyproject.toml: folders kept at the top of the repository, where users and maintainers edit
them, ship inside the package so that a wheel works anywhere (``quickmeet_conformance.resources`` finds them in
the installed package, or in the checkout for an editable install):

    schemas/                   -> quickmeet_conformance/schemas/          (the values JSON Schema)
    suites/                    -> quickmeet_conformance/suites/           (pytest --pyargs quickmeet_conformance.suites)
    fixtures/charts/rocketchat -> quickmeet_conformance/reference_chart/  (the bundled reference chart)
    docs/                      -> quickmeet_conformance/docs/             (rules.md, what SARIF's helpUri opens)
"""

from setuptools import find_packages, setup

MAPPED = {
    "quickmeet_conformance.schemas": "schemas",
    "quickmeet_conformance.suites": "suites",
    "quickmeet_conformance.reference_chart": "fixtures/charts/rocketchat",
    "quickmeet_conformance.docs": "docs",
}
SUITE_LANES = [f"quickmeet_conformance.suites.{name}" for name in find_packages("suites")]

setup(
    packages=find_packages(include=["quickmeet_conformance", "quickmeet_conformance.*"])
    + list(MAPPED)
    + SUITE_LANES,
    package_dir=MAPPED,
    package_data={
        "quickmeet_conformance.docs": ["*.md"],
        "quickmeet_conformance.schemas": ["*.json"],
        "quickmeet_conformance.reference_chart": ["Chart.yaml", "values.yaml", "templates/*", ".helmignore"],
    },
)

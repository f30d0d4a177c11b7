"""The one name of a case: ``<what it checks>@<helm>``, the same in test ids and in every report.

A case is a values file (static and live lanes) or an upgrade pair (upgrade lanes) rendered through one helm
binary. Its id is made from the helm binary's file name as given (``seed-docs@helm3`` for
``.tools/bin/helm3``, ``seed-docs@helm`` for a helm on PATH): pytest makes test ids at collection, before any
helm runs, so an id must not depend on asking helm its version, or reports and test ids would disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .values import values_stem


def helm_name(helm: str) -> str:
    """The helm part of a case id: the binary's file name (a resolved helm's path ends in the same name)."""
    return Path(helm).name


def case_id(subject: str, helm: str) -> str:
    """``<subject>@<helm file name>``: every case id in the package is made here."""
    return f"{subject}@{helm_name(helm)}"


@dataclass(frozen=True)
class CaseKey:
    """Which case of the run: what it checks and through which helm binary (hashable: sessions cache results
    by it; pytest parametrizes with it). Build one with :meth:`for_values` or :meth:`for_upgrade`."""

    subject: (
        str  # the id's first part: a values stem (``seed-docs``, ``base+prod``) or an upgrade pair's name
    )
    helm: str  # the helm binary as given: a path, or a name on PATH
    values: str = ""  # a values case: the values file (or layered ``base.yaml+prod.yaml``) as given
    pair: int = -1  # an upgrade case: the pair's index among the run's pairs

    @classmethod
    def for_values(cls, values: str, helm: str) -> CaseKey:
        return cls(values_stem(values), helm, values=values)

    @classmethod
    def for_upgrade(cls, index: int, name: str, helm: str) -> CaseKey:
        return cls(name, helm, pair=index)

    @property
    def id(self) -> str:
        """The case's name in test ids, the terminal and the JSON, JUnit, SARIF, HTML and Markdown reports."""
        return case_id(self.subject, self.helm)

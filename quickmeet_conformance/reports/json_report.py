"""The JSON report (``--conformance-report out.json``, ``conformance check --format json``): the report model
as it is, rule ids, verdicts and evidence for every case, secrets redacted."""

from __future__ import annotations

import json

from .reporter import PytestOption, Reporter, ReportRun, register
from .text import verdict_dict


@register
class JsonReporter(Reporter):
    name = "json"
    order = 20
    pytest_option = PytestOption(
        "qmc_report", "--conformance-report", "QMC_REPORT", "write a JSON report of every rule and finding"
    )

    def render(self, run: ReportRun) -> str:
        document = run.document
        if document is not None:  # the verdict and exit code, as the text report's last line says them
            document = {**document, "verdict": verdict_dict(run)}
        return json.dumps(document, indent=2) + "\n"

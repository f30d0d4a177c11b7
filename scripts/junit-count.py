#!/usr/bin/env python3
"""Prints "N passed, N failed, N skipped" for a JUnit XML file (pytest's), for test.sh's closing lines.

A missing or unreadable file is itself the answer ("no results: <why>"), so a lane that wrote nothing cannot
pass for one that passed."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def counts(path: str) -> str:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        return f"no results: {path}: {exc}"
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped"


if __name__ == "__main__":
    print(counts(sys.argv[1]))

"""Writing a rendered report (HTML, Markdown) to its file, creating the folder as the other writers do."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_report(text: str, path: str | os.PathLike[str]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")

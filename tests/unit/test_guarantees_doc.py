"""docs/guarantees.md names a test for each promise: every one it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_test_the_guarantees_name_exists() -> None:
    text = (REPO / "docs" / "guarantees.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text))
    assert len(named) > 40
    missing = [f"{file}::{name}" for file, name in sorted(named)
               if not (REPO / file).is_file() or not re.search(rf"^(async )?def {name}\(", (REPO / file).read_text(),
                                                               re.MULTILINE)]
    assert missing == []

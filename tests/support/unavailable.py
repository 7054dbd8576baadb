"""What a test does when a tool it drives is missing: skip on a developer's machine, fail in CI.

`make test` installs Chromium, redis-server and the SAM CLI's venv, so in CI (``CI`` set) a missing
one means the install broke, and a skip would let those checks go quietly missing.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str, *, what: str) -> NoReturn:
    """Skip with ``reason``; in CI, fail saying that ``what`` cannot run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)

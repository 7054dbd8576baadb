"""Shared fixtures for browser tests: pip ``playwright`` driving Debian's Chromium.

No browser is ever downloaded: Playwright launches ``/usr/bin/chromium`` (``apt-get install
chromium``; ``make test`` does it) through ``executable_path``. Set ``CHROMIUM`` to use another
binary. Without Playwright or Chromium the browser tests are skipped with the reason, except in CI
(``CI`` set), where that is an error: a green CI run must have run them.

Fixtures:
* ``browser`` (module): one headless Chromium per test module (launching costs ~0.3 s). Not per
  session: while Playwright's sync API is open it runs its own asyncio loop on the main thread,
  and the pytest-asyncio tests collected after the browser tests would then fail ("coroutine
  was never awaited"); closing it with the module leaves the loop state as it found it;
* ``context``: a fresh browser context per test (cookies, storage and viewport isolated);
* ``page``: a page in that context, with ``page.problems``: uncaught page errors and
  ``console.error`` messages, for a test to assert on (``assert not page.problems``);
* ``screenshot``: ``screenshot(page, "name")`` saves ``tests/artifacts/screenshots/name.png``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support.unavailable import unavailable

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Hygiene flags (Playwright adds --no-sandbox and --headless itself): no background traffic,
# no GPU on these machines, no first-run or sync prompts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1440, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def _unavailable(reason: str) -> NoReturn:
    unavailable(reason, what="browser tests")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("pip playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or make test)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Any:
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.problems = problems
    return page


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.botocore_data import share_botocore_data_loader
from tests.support.fake_openai import FakeOpenAI
from tests.support.mypy_run import mypy_cache  # noqa: F401 - a session fixture (tests/create, tests/types)
from tests.support.slow_first import slowest_first
from tests.support.tls import share_default_ssl_context

share_default_ssl_context()  # httpx's ~30 ms CA load per client, once per process (tests/support/tls.py)

share_botocore_data_loader()  # botocore's JSON models parsed once per process (tests/support/botocore_data.py)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slowest_first(items)  # make test's workers start on the longest modules (tests/support/slow_first.py)

"""One botocore data loader for the whole test process, instead of one per botocore session.

moto's ``mock_aws`` swaps boto3's default session out on entry (each test starts from fresh
credentials and configuration), and every new botocore session makes a new data loader, which
parses botocore's JSON models again: ``endpoints.json``, ``sdk-default-configuration.json`` and
each service's ``service-2.json`` for every client a test makes. py-spy on ``tests/aws`` (179 tests,
one process): 14 % of the CPU in ``json.loads`` under ``botocore.loaders``, 20 % in
``Session.create_client``. The loader holds only the files it has read, botocore's own packaged
data, which botocore treats as read-only once loaded (one session already hands the same loaded
models to all its clients); so sharing it across sessions changes no session's, client's or
test's behaviour, only how often the same files are parsed. Sessions, clients, credentials and
moto's state are still new per test. Subprocesses (motia cloud's workers, created projects'
tests) are not affected.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore import loaders


def share_botocore_data_loader() -> None:
    """Make every botocore session of this process use one loader per data path (AWS_DATA_PATH)."""
    if getattr(botocore.session.create_loader, "__wrapped__", None) is not loaders.create_loader:  # once
        botocore.session.create_loader = functools.cache(loaders.create_loader)

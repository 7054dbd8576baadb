"""A step's entry below LOG_LEVEL still reaches the host's sink (the Workbench shows it) but is not
written and builds no Powertools logger. The server's own per-connection lines (a socket's "joined",
``StepLogger.chatter``) below the level are neither written nor sunk: the Workbench's log ring would
keep one per join (issue 22, memory per idle subscriber)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, sys
from motia_runtime.log import StepLogger
sunk = []
log = StepLogger({"step": "S"}, sink=sunk.append)
log.debug("below the level", groupId="g")
print(json.dumps({"sunk": [e["msg"] for e in sunk], "powertools": "aws_lambda_powertools" in sys.modules}),
      file=sys.stderr, flush=True)
log.info("at the level")
log.debug("below again")
print(json.dumps({"sunk": [e["msg"] for e in sunk]}), file=sys.stderr, flush=True)
log.chatter("joined", groupId="g")
print(json.dumps({"sunk": [e["msg"] for e in sunk]}), file=sys.stderr, flush=True)
"""


def _run(**env: str) -> tuple[list[str], list[dict[str, object]]]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                         env={**clean, **env}, check=True)
    return [line for line in out.stdout.splitlines() if line.strip()], [json.loads(x) for x in out.stderr.splitlines()
                                                                       if x.startswith("{")]


def test_an_entry_below_the_level_is_sunk_not_written_and_builds_no_logger() -> None:
    written, seen = _run(LOG_LEVEL="info")
    assert seen[0] == {"sunk": ["below the level"], "powertools": False}
    assert seen[1] == {"sunk": ["below the level", "at the level", "below again"]}
    assert seen[2] == seen[1]  # the join's own line: not kept for the Workbench either
    assert [json.loads(line)["message"] for line in written] == ["at the level"]


def test_at_debug_every_entry_is_written() -> None:
    written, seen = _run(LOG_LEVEL="debug")
    assert seen[0]["powertools"] is True
    assert [json.loads(line)["message"] for line in written] == ["below the level", "at the level", "below again",
                                                                   "joined"]
    assert seen[2]["sunk"][-1] == "joined"


def test_under_lambdas_log_controls_powertools_decides() -> None:
    _, seen = _run(LOG_LEVEL="info", AWS_LAMBDA_LOG_LEVEL="DEBUG")
    assert seen[0]["powertools"] is True  # Lambda's level may be lower than LOG_LEVEL: Powertools is asked

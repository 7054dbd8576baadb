"""``motia check`` as a user runs it: in the wrong folder, and with files that will not load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motia_runtime", "check", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def test_check_in_a_folder_without_functions_fails_with_one_line(tmp_path: Path) -> None:
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no functions/ folder" in result.stderr, result.stderr


def test_check_warns_about_a_step_that_will_not_load(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello.step.py").write_text(
        "config = {'type': 'api', 'name': 'Hello', 'path': '/hello', 'method': 'GET'}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("warning: functions/hello.step.py: not loaded: step files must be named *_step.py "
            "(rename it to hello_step.py)") in result.stderr
    assert "warning: no steps: no *_step.py files under functions/" in result.stderr


def test_check_names_the_file_line_and_field_of_a_broken_step(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello_step.py").write_text(
        "config = {\n    'type': 'api', 'name': 'Hello', 'path': '/hello',\n    'method': 'FETCH',\n}\n"
        "async def handler(req, ctx):\n    return {'status': 200, 'body': {}}\n")
    result = _check(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("motia: functions/hello_step.py:3: method: "), result.stderr

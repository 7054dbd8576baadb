"""The README's examples run as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from tests.support.dev_server import REPO
from tests.support.project_pytest import PROJECT_PYTEST


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_the_cloud_simulation_pytest_file_passes_against_the_openai_example(tmp_path) -> None:
    [example] = [b for b in _python_blocks() if "CloudSim" in b]
    assert example.startswith("# tests/test_cloud.py\n")
    for folder in ("functions", "streams"):  # the example's project, beside the file as the file expects
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_cloud.py").write_text(example)
    result = subprocess.run([*PROJECT_PYTEST, "-q", "tests/test_cloud.py"],  # a user's plugins, not ours
                            cwd=tmp_path, capture_output=True, text=True, timeout=180,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_the_step_and_stream_examples_load_as_a_project(tmp_path) -> None:
    blocks = {b.splitlines()[0].removeprefix("# ").strip(): b for b in _python_blocks() if b.startswith("# ")}
    assert set(blocks) >= {"functions/greetings/greet_step.py", "functions/greetings/after_greet_step.py",
                           "streams/greetings_stream.py"}
    for name, body in blocks.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    result = subprocess.run([sys.executable, "-m", "motia_runtime", "check", "--root", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 steps, 1 streams: OK"

"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.dev_server import REPO


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_the_cloud_simulation_example_runs_and_prints_the_streamed_reply() -> None:
    [example] = [b for b in _python_blocks() if "CloudSim" in b]
    result = subprocess.run([sys.executable, "-c", example], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].endswith("local fallback reply to: hi")


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

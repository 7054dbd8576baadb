"""The code folder `make build` hands to `sam build` (template.yaml's CodeUri)."""

from __future__ import annotations

import pytest

from motia_runtime.errors import ConfigError
from motia_runtime.tools.bundle import assemble
from motia_runtime.tools.template.names import CODE_URI

from .conftest import ProjectWriter, step


def test_copies_the_apps_own_files_and_nothing_else(write_project: ProjectWriter) -> None:
    root = write_project({
        "functions/flow/a_step.py": step(
            '{"type": "event", "name": "A", "subscribes": ["t"], "includeFiles": ["../../data/prompt.txt"]}'
        ),
        "functions/flow/helpers.py": "X = 1\n",
        "streams/things_stream.py": 'config = {"name": "things", "schema": {"type": "object"}}\n',
        "streams/auth.py": "def authenticate(request):\n    return {}\n",
        "data/prompt.txt": "hello\n",
        "data/unused.txt": "no\n",
        "requirements.txt": "openai>=1.40\n",
        "tests/test_a.py": "",
        ".venv-sam/big": "",
        "node_modules/x/index.js": "",
    })
    (root / "functions/flow/__pycache__").mkdir()
    (root / "functions/flow/__pycache__/a_step.cpython-311.pyc").write_bytes(b"")
    target = assemble(root)
    assert target == root / CODE_URI.rstrip("/")
    # Not requirements.txt: sam build would install it into every function; it is a layer.
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == [
        "data/prompt.txt",
        "functions/flow/a_step.py",
        "functions/flow/helpers.py",
        "streams/auth.py",
        "streams/things_stream.py",
    ]


def test_a_deleted_step_does_not_ship(write_project: ProjectWriter) -> None:
    root = write_project({
        "functions/a_step.py": step('{"type": "event", "name": "A", "subscribes": ["t"]}'),
        "functions/b_step.py": step('{"type": "event", "name": "B", "subscribes": ["t"]}'),
    })
    target = assemble(root)
    (root / "functions/b_step.py").unlink()
    assemble(root)
    assert not (target / "functions/b_step.py").exists()
    assert (target / "functions/a_step.py").exists()


def test_missing_include_file_names_the_step(write_project: ProjectWriter) -> None:
    root = write_project({
        "functions/a_step.py": step('{"type": "event", "name": "A", "subscribes": ["t"], "includeFiles": ["x.json"]}'),
    })
    with pytest.raises(ConfigError) as caught:
        assemble(root)
    assert (caught.value.file, caught.value.field) == ("functions/a_step.py", "includeFiles")

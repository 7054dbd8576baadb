"""``motia create <dir>``: a standalone project of your own, from a template packaged with motia_runtime.

A project has ``pyproject.toml`` (depending on motia-runtime), ``functions/``, ``streams/``,
``tests/`` (one test on the local host, one on CloudSim), ``motia_types.py``, a Makefile with
``dev``, ``test`` and ``build``, ``samconfig.toml``, ``.gitignore`` and a README. ``templates/common``
holds what every project gets; ``templates/<name>`` the app. The pet shelter's steps are a copy
of this repository's ``functions/pets`` and ``streams/pet_creation_stream.py`` (a test keeps them
equal).

motia-runtime may not come from PyPI (a wheel you built, this repository): the project records
where pip gets it (``MOTIA_RUNTIME`` in its Makefile), see ``default_runtime_spec``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import unicodedata
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from ...project import load_project
from ..typegen import MODULE
from ..typegen.module import render_module

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATES = {
    "minimal": "a minimal streaming app: `POST /hello` returns a `greetings` stream item that an event step "
               "fills in word by word; `GET /hello/:id` reads it.",
    "pets": "the pet shelter of Motia's real-time streaming tutorial: `POST /pets` and its stream `petCreation` "
            "follow each pet through quarantine, health check, AI profile and adoption.",
}
# Files whose names cannot be package data as they are: a leading dot is left out of the wheel's globs,
# and a pyproject.toml with placeholders would be read by tools (ruff) as this package's settings.
_RENAMES = {"gitignore": ".gitignore", "pyproject.toml.tmpl": "pyproject.toml"}
# What each template's steps import besides motia-runtime.
_APP_DEPENDENCIES = {"minimal": [], "pets": ["openai>=1.40"]}
# pyproject.toml's [tool.motia]: the settings `motia generate` passes to every Lambda as parameters.
_TOOL_MOTIA = {"minimal": "environment = []",
               "pets": 'environment = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"]'}
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def default_runtime_spec() -> str:
    """Where this motia-runtime was installed from, when pip can install it again from there (a
    local wheel or folder: PEP 610's direct_url.json); else this version from PyPI."""
    try:
        dist = metadata.distribution("motia-runtime")
    except metadata.PackageNotFoundError:
        return "motia-runtime"
    raw = dist.read_text("direct_url.json")
    if raw:
        try:
            url = json.loads(raw).get("url", "")
        except json.JSONDecodeError:
            url = ""
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.exists():
                return str(path)
    return f"motia-runtime=={dist.version}"


def _project_name(folder: Path) -> str:
    # A distribution name is ASCII (PEP 508): "démo" is "demo", not "d-mo".
    ascii_name = unicodedata.normalize("NFKD", folder.name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-._").lower()
    return name or "motia-app"


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _write(target: Path, template: str, values: dict[str, str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATES_DIR / template, target, ignore=_SKIP, dirs_exist_ok=True)
    for source in sorted((TEMPLATES_DIR / "common").rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        rel = source.relative_to(TEMPLATES_DIR / "common")
        dest = target / rel.parent / _RENAMES.get(rel.name, rel.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_fill(source.read_text(encoding="utf-8"), values), encoding="utf-8")


def create(dir: str | Path, *, template: str = "minimal", runtime_spec: str | None = None, force: bool = False) -> int:
    """Write the project; exit status 0, 2 when the folder is not empty (or a file) or the template unknown,
    1 when it cannot be written."""
    target = Path(dir).resolve()
    if template not in TEMPLATES:
        print(f"motia create: unknown template {template!r} (templates: {', '.join(sorted(TEMPLATES))})",
              file=sys.stderr)
        return 2
    if target.exists() and not target.is_dir():
        print(f"motia create: {target} exists and is not a folder", file=sys.stderr)
        return 2
    if target.exists() and any(target.iterdir()) and not force:
        print(f"motia create: {target} exists and is not empty (--force writes into it)", file=sys.stderr)
        return 2
    from ... import __version__

    spec = runtime_spec or default_runtime_spec()
    values = {
        "name": _project_name(target),
        "about": TEMPLATES[template],
        "runtime_spec": spec,
        "version": __version__,
        "tool_motia": _TOOL_MOTIA[template],
        "extra_dependencies": "".join(f'\n    "{d}",' for d in _APP_DEPENDENCIES[template]),
    }
    try:
        _write(target, template, values)
    except OSError as exc:  # a folder that cannot be made or written (permissions, a file in the path)
        print(f"motia create: cannot write {exc.filename or target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    project = load_project(target)
    (target / MODULE).write_text(render_module(project), encoding="utf-8")
    print(f"created {target} ({template}: {len(project.steps)} steps, {len(project.streams)} streams)\n"
          f"  motia-runtime from: {spec}\n"
          f"  next: cd {shlex.quote(str(target))} && make test && make dev")  # to paste into a shell as it is
    return 0

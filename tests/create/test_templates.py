"""The pet shelter template is this repository's pet shelter, not a copy left to go stale."""

from __future__ import annotations

from pathlib import Path

from tests.support.dev_server import REPO

TEMPLATE = REPO / "layers/motia_runtime/motia_runtime/tools/create/templates/pets"
# Every stream but the OpenAI example's belongs to the pet shelter.
OTHER_APPS = {"openai_stream.py"}
SYNC = ("rm -rf {t}/functions/pets {t}/streams && cp -r functions/pets {t}/functions/ && mkdir {t}/streams && "
        "cp $(ls streams/*.py | grep -v openai_stream) {t}/streams/ && rm -rf {t}/functions/pets/__pycache__"
        ).format(t=TEMPLATE.relative_to(REPO))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_pet_shelter_template_holds_the_repository_pet_shelter() -> None:
    assert _files(TEMPLATE / "functions/pets") == _files(REPO / "functions/pets"), f"refresh it: {SYNC}"
    streams = {name: data for name, data in _files(REPO / "streams").items() if name not in OTHER_APPS}
    assert _files(TEMPLATE / "streams") == streams, f"refresh it: {SYNC}"

"""The pet shelter template is this repository's pet shelter, not a copy left to go stale."""

from __future__ import annotations

from pathlib import Path

from tests.support.dev_server import REPO

TEMPLATE = REPO / "layers/motia_runtime/motia_runtime/tools/create/templates/pets"
SYNC = ("rm -rf {t}/functions/pets && cp -r functions/pets {t}/functions/ && rm -rf {t}/functions/pets/__pycache__ && "
        "cp streams/pet_creation_stream.py {t}/streams/").format(t=TEMPLATE.relative_to(REPO))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_pet_shelter_template_holds_the_repository_pet_shelter() -> None:
    assert _files(TEMPLATE / "functions/pets") == _files(REPO / "functions/pets"), f"refresh it: {SYNC}"
    assert _files(TEMPLATE / "streams") == {"pet_creation_stream.py": (REPO / "streams/pet_creation_stream.py")
                                            .read_bytes()}, f"refresh it: {SYNC}"

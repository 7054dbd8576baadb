"""App settings declared in pyproject.toml become deploy parameters passed to every function."""

from __future__ import annotations

import pytest

from motia_runtime.errors import ConfigError

from .conftest import ProjectWriter, step, template_of

API = step('{"type": "api", "name": "Ping", "path": "/ping", "method": "GET"}')


def test_declared_names_become_parameters_and_function_environment(write_project: ProjectWriter) -> None:
    root = write_project({
        "functions/ping_step.py": API,
        "pyproject.toml": '[tool.motia]\nenvironment = ["OPENAI_API_KEY", "OPENAI_MODEL"]\n',
    })
    template = template_of(root)
    assert template["Parameters"]["EnvOpenaiApiKey"] == {
        "Type": "String", "Default": "", "NoEcho": True,
        "Description": "OPENAI_API_KEY for the app's functions (declared in pyproject.toml [tool.motia.environment]).",
    }
    assert "NoEcho" not in template["Parameters"]["EnvOpenaiModel"]  # not secret-looking: shown in the console
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["OPENAI_API_KEY"] == {"Ref": "EnvOpenaiApiKey"}
    assert variables["OPENAI_MODEL"] == {"Ref": "EnvOpenaiModel"}


def test_no_declaration_adds_nothing(write_project: ProjectWriter) -> None:
    template = template_of(write_project({"functions/ping_step.py": API}))
    assert not [p for p in template["Parameters"] if p.startswith("Env")]


@pytest.mark.parametrize(
    ("value", "words"),
    [('["lower_case"]', "is not an environment variable name"), ('["MOTIA_STEP"]', "reserved"),
     ('"OPENAI_API_KEY"', "must be a list"), ('["A", "A"]', "twice")],
)
def test_bad_declarations_name_the_file_and_field(write_project: ProjectWriter, value: str, words: str) -> None:
    root = write_project({"functions/ping_step.py": API, "pyproject.toml": f"[tool.motia]\nenvironment = {value}\n"})
    with pytest.raises(ConfigError) as caught:
        template_of(root)
    assert (caught.value.file, caught.value.field) == ("pyproject.toml", "tool.motia.environment")
    assert words in str(caught.value)

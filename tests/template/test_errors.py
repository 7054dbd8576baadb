"""What generation refuses, and how it says so: ConfigError naming the step file and field."""

from __future__ import annotations

import pytest

from motia_runtime.errors import ConfigError

from .conftest import ProjectWriter, step, template_of


def _refusal(write_project: ProjectWriter, files: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        template_of(write_project(files))
    return caught.value


def test_visibility_timeout_shorter_than_the_handler_timeout(write_project: ProjectWriter) -> None:
    error = _refusal(write_project, {"functions/slow_step.py": step(
        """{"type": "event", "name": "Slow", "subscribes": ["t"],
        "infrastructure": {"handler": {"timeout": 300}, "queue": {"visibilityTimeout": 30}}}"""
    )})
    assert error.file == "functions/slow_step.py"
    assert error.field == "infrastructure.queue.visibilityTimeout"
    assert "30 s" in str(error) and ">= 300" in str(error)


def test_visibility_timeout_equal_to_the_handler_timeout_is_fine(write_project: ProjectWriter) -> None:
    template = template_of(write_project({"functions/edge_step.py": step(
        """{"type": "event", "name": "Edge", "subscribes": ["t"],
        "infrastructure": {"handler": {"timeout": 45}, "queue": {"visibilityTimeout": 45}}}"""
    )}))
    assert template["Resources"]["EdgeQueue"]["Properties"]["VisibilityTimeout"] == 45


@pytest.mark.parametrize(
    ("cron", "words"),
    [("30 0 3 * * *", "seconds field must be 0"), ("0 0 1 * mon", "split it into two cron steps")],
)
def test_cron_that_eventbridge_cannot_run(write_project: ProjectWriter, cron: str, words: str) -> None:
    error = _refusal(write_project, {"functions/tick_step.py": step(
        f'{{"type": "cron", "name": "Tick", "cron": "{cron}"}}', "cron"
    )})
    assert (error.file, error.field) == ("functions/tick_step.py", "cron")
    assert words in str(error)


def test_concurrency_below_two(write_project: ProjectWriter) -> None:
    error = _refusal(write_project, {"functions/one_step.py": step(
        """{"type": "event", "name": "One", "subscribes": ["t"], "infrastructure": {"queue": {"concurrency": 1}}}"""
    )})
    assert (error.file, error.field) == ("functions/one_step.py", "infrastructure.queue.concurrency")


def test_step_names_that_map_to_one_logical_id(write_project: ProjectWriter) -> None:
    error = _refusal(write_project, {
        "functions/a_step.py": step('{"type": "event", "name": "pet-created", "subscribes": ["t"]}'),
        "functions/b_step.py": step('{"type": "event", "name": "pet_created", "subscribes": ["t"]}'),
    })
    assert error.file == "functions/b_step.py" and error.field == "name"
    assert "PetCreatedFunction" in str(error) and "functions/a_step.py" in str(error)


def test_an_api_step_timeout_over_what_the_http_api_waits(write_project: ProjectWriter) -> None:
    error = _refusal(write_project, {"functions/long_step.py": step(
        """{"type": "api", "name": "Long", "path": "/long", "method": "POST",
        "infrastructure": {"handler": {"timeout": 31}}}""", "api"
    )})
    assert (error.file, error.field) == ("functions/long_step.py", "infrastructure.handler.timeout")
    assert "31 s" in str(error) and "30 s" in str(error)
    template = template_of(write_project({"functions/edge_step.py": step(
        """{"type": "api", "name": "Edge", "path": "/edge", "method": "POST",
        "infrastructure": {"handler": {"timeout": 30}}}""", "api"
    )}))
    assert template["Resources"]["EdgeFunction"]["Properties"]["Timeout"] == 30

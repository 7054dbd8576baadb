"""The committed template.yaml: current with the steps, and clean under cfn-lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from motia_runtime.tools.generate import generated_text
from motia_runtime.tools.template import render_yaml, stale_diff

from .conftest import REPO, ProjectWriter, template_of
from .rich_project import FILES

COMMITTED = REPO / "template.yaml"


@pytest.mark.usefixtures("isolated_imports")
def test_committed_template_is_current() -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.is_file() else ""
    diff = stale_diff(committed, generated_text(REPO), path="template.yaml")
    assert not diff, (
        "template.yaml no longer matches the steps and streams. Regenerate it with\n"
        "    .venv/bin/motia generate\nand commit the result. Difference:\n" + diff
    )


def _errors(text: str) -> list[str]:
    # Imported here, not at the top: cfn-lint's import is 0.7 s of CPU, which every xdist worker
    # paid when collecting this module, and only the one that runs it needs.
    from cfnlint.api import lint

    # lint() runs cfn-lint's default rules (errors and warnings; informational rules are off).
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in lint(text, regions=["us-east-1"])]


def test_committed_template_passes_cfn_lint() -> None:
    assert _errors(COMMITTED.read_text(encoding="utf-8")) == []


def test_template_with_fifo_cron_and_concurrency_passes_cfn_lint(write_project: ProjectWriter) -> None:
    # The example app has no FIFO or cron step; this covers the resources it lacks.
    assert _errors(render_yaml(template_of(write_project(FILES)))) == []


def test_cfn_lint_would_catch_a_broken_template(write_project: ProjectWriter) -> None:
    # Guard against a lint call that silently checks nothing.
    text = render_yaml(template_of(write_project({})))
    assert _errors(text) == []
    broken = text.replace("RouteKey: $connect", "RouteKeyX: $connect", 1)
    assert any(e.startswith("E3") for e in _errors(broken))


def test_committed_template_is_not_empty_of_steps() -> None:
    # The repo's example steps are in it (a generation against the wrong root would not be).
    text = COMMITTED.read_text(encoding="utf-8")
    assert "OpenAiApiFunction:" in text and "CallOpenAiFunction:" in text
    assert Path(REPO / "samconfig.toml").is_file()

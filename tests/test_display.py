"""Statuses readable anywhere: without an emoji font the icons are empty boxes, so every
status also shows as its word in its colour, in the notebook and in its HTML rendering."""

from datetime import UTC, datetime

import nbformat

from rollout_gates.core.verdict import Check, GateResult, Status
from rollout_gates.present.display import COLOURS, verdict_markdown
from rollout_gates.run.runner import render_html

FAIL_RED = "#cf222e"
PASS_GREEN = "#1a7f37"
WARN_AMBER = "#9a6700"


def failing_result() -> GateResult:
    checks = [
        Check(id="success_rate", rule="r", status=Status.FAIL, detail="d"),
        Check(id="sustained_errors", rule="r", status=Status.WARN, detail="d"),
        Check(id="circuit_opens", rule="r", status=Status.PASS, detail="d"),
    ]
    return GateResult(
        gate="full-health",
        env="production",
        status=Status.FAIL,
        as_of=datetime(2026, 3, 2, 12, tzinfo=UTC),
        checks=checks,
    )


def test_every_status_has_its_own_colour():
    assert set(COLOURS) == set(Status)
    assert len(set(COLOURS.values())) == len(Status)


def test_banner_and_checks_show_each_status_as_a_coloured_word():
    banner = verdict_markdown(failing_result())
    heading = banner.splitlines()[0]
    assert heading.startswith(f'# <span style="color:{FAIL_RED};')
    assert "❌ FAIL</span>: full-health on production" in heading
    rows = {line.split("|")[1].strip(): line for line in banner.splitlines() if line[:2] == "| "}
    assert f"color:{FAIL_RED};" in rows["success_rate"] and "❌ FAIL</span>" in rows["success_rate"]
    assert f"color:{WARN_AMBER};" in rows["sustained_errors"]
    assert f"color:{PASS_GREEN};" in rows["circuit_opens"]


def test_the_html_rendering_keeps_word_and_colour(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell(verdict_markdown(failing_result())))
    nbformat.write(notebook, tmp_path / "gate.ipynb")
    render_html(tmp_path / "gate.ipynb", tmp_path / "gate.html")
    html = (tmp_path / "gate.html").read_text()
    assert (
        f'<span style="color:{FAIL_RED};font-weight:bold;white-space:nowrap">❌ FAIL</span>' in html
    )
    assert html.count(f"color:{PASS_GREEN};") == 1  # the one PASS check

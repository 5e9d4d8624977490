import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import nbformat
import pytest

from rollout_gates.core import layout
from rollout_gates.core.errors import RolloutGatesError
from rollout_gates.core.verdict import GateResult, Status
from rollout_gates.run.evidence import RESULT_MIME, latest_verdict, record_verdict

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def record(root, folder, status, as_of):
    run_dir = root / "staging" / "prerequisites" / folder
    record_verdict(
        run_dir, GateResult(gate="prerequisites", env="staging", status=status, as_of=as_of)
    )


def test_latest_verdict_is_the_latest_as_of_not_the_latest_folder(tmp_path):
    record(tmp_path, "20261129T000000Z", Status.FAIL, T0 - timedelta(hours=5))
    record(tmp_path, "20261128T000000Z", Status.PASS, T0)
    assert latest_verdict(tmp_path, "staging", "prerequisites").status is Status.PASS


def test_verdicts_after_the_as_of_time_are_ignored(tmp_path):
    record(tmp_path, "a", Status.FAIL, T0 - timedelta(hours=5))
    record(tmp_path, "b", Status.PASS, T0)
    found = latest_verdict(tmp_path, "staging", "prerequisites", at_or_before=T0 - timedelta(1))
    assert found is None
    found = latest_verdict(
        tmp_path, "staging", "prerequisites", at_or_before=T0 - timedelta(hours=1)
    )
    assert found.status is Status.FAIL


def test_no_recorded_verdict_is_none(tmp_path):
    assert latest_verdict(tmp_path, "staging", "prerequisites") is None


def test_a_damaged_verdict_is_reported_not_skipped(tmp_path):
    record(tmp_path, "a", Status.PASS, T0)
    damaged = tmp_path / "staging" / "prerequisites" / "b" / "verdict.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"gate": "prereq')
    with pytest.raises(RolloutGatesError, match="unreadable recorded verdict"):
        latest_verdict(tmp_path, "staging", "prerequisites")


def banner_heading(notebook) -> str:
    """The first line of the verdict banner the runner puts at the top of the notebook."""
    [banner] = [c for c in notebook.cells if "rollout-gates-verdict" in c.metadata.get("tags", [])]
    return banner.source.splitlines()[0]


class ExternalRequests(HTMLParser):
    """The URLs a browser would fetch on opening a page: scripts, stylesheets, images, frames,
    and modules imported by inline scripts (links a reader may click are not requests)."""

    FETCHED = {("script", "src"), ("img", "src"), ("iframe", "src"), ("link", "href")}

    def __init__(self):
        super().__init__()
        self.urls, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        self.urls += [
            value
            for name, value in attrs
            if (tag, name) in self.FETCHED and re.match(r"(https?:)?//", value or "")
        ]

    def handle_data(self, data):
        if self.in_script:
            self.urls += re.findall(r"""(?:import|from)\s*\(?\s*['"]((?:https?:)?//[^'"]+)""", data)


def external_requests(html: str) -> list[str]:
    parser = ExternalRequests()
    parser.feed(html)
    return parser.urls


def test_a_page_fetching_a_cdn_script_is_caught():
    page = (
        '<a href="https://example.org/runbook">runbook</a>'
        '<script src="https://cdnjs.cloudflare.com/require.js"></script>'
        "<script type=\"module\">import mermaid from 'https://cdn.jsdelivr.net/m.mjs';</script>"
        '<img src="data:image/png;base64,AAAA">'
    )
    assert external_requests(page) == [
        "https://cdnjs.cloudflare.com/require.js",
        "https://cdn.jsdelivr.net/m.mjs",
    ]


def kernel_heading(notebook) -> str:
    """The first line of the verdict the notebook's cells showed, in the kernel."""
    [shown] = [
        output["data"]["text/markdown"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("data", {}).get("text/markdown", "").startswith("# ")
    ]
    return shown.splitlines()[0]


@pytest.mark.db
@pytest.mark.slow
def test_the_notebook_banner_and_verdict_json_agree(
    run_gate, scenario_db, scenario_end, tmp_path, webhook
):
    # sustained-errors at its end: a FAIL, announced on the webhook, so the verdict also
    # carries the delivery, which the runner learns after the kernel handed the result over.
    url = scenario_db("sustained-errors")
    run = run_gate(
        "full-health", "production", url, tmp_path, scenario_end,
        extra_env={"ROLLOUT_NOTIFY_WEBHOOK": webhook.url},
    )  # fmt: skip
    assert run.verdict["status"] == "FAIL" and run.verdict["notification"]["sent"] is True
    notebook = nbformat.read(run.run_dir / "full-health.ipynb", as_version=4)
    assert notebook.metadata["rollout_gates"] == run.verdict
    assert banner_heading(notebook) == kernel_heading(notebook)
    assert banner_heading(notebook).endswith(" FAIL</span>: full-health on production")
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if RESULT_MIME in o.get("data", {})], "taken by the runner"
    html = (run.run_dir / "full-health.html").read_text()
    assert banner_heading(notebook)[2:] in html
    # Readable anywhere: offline (no request leaves the page) and without an emoji font
    # (the status is also a word in its colour).
    assert external_requests(html) == []
    assert re.search(r'<span style="color:#[0-9a-f]{6}[^"]*">\S+ FAIL</span>', html)


@pytest.mark.db
@pytest.mark.slow
def test_a_run_failing_after_the_verdict_cell_records_one_error_verdict(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # full-health's notebook with one more cell after the verdict's, which raises: the kernel
    # handed a FAIL over (kernel_heading), but the run failed, so its one verdict is ERROR.
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.read(layout.notebooks_dir() / "full-health.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("after the verdict")'))
    nbformat.write(notebook, notebooks / "full-health.ipynb")
    run = run_gate(
        "full-health", "production", scenario_db("sustained-errors"), tmp_path / "out",
        scenario_end, extra_env={"ROLLOUT_NOTEBOOKS_DIR": str(notebooks)},
    )  # fmt: skip
    assert run.completed.returncode == 4, run.completed.stderr
    assert run.verdict["status"] == "ERROR"
    assert run.verdict["error"] == "RuntimeError: after the verdict"
    assert [p.name for p in run.run_dir.rglob("*verdict*")] == ["verdict.json"]
    executed = nbformat.read(run.run_dir / "full-health.ipynb", as_version=4)
    assert executed.metadata["rollout_gates"] == run.verdict
    assert banner_heading(executed).endswith(" ERROR</span>: full-health on production")
    assert kernel_heading(executed).endswith(" FAIL</span>: full-health on production")

"""The analyst's path: JupyterLab opens a notebook, finds its kernel, runs it as stored.

A real JupyterLab from this environment, driven by Playwright in Debian's Chromium (no
browser download: `executable_path`). The notebooks run with their stored parameters
(`as_of` empty: the database server's now()), against the embedded database of the scenario
loaded for the test, given to the kernel as ROLLOUT_DB_URL, as an analyst would export it.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout_gates.core import layout

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]

KERNEL = "Python (rollout-gates)"
INSTALL_HINT = "no Chromium: install it with `apt-get install -y chromium chromium-driver`"
RUN_TIMEOUT_MS = 600_000  # two cores shared with other work: a gate may take minutes


def find_chromium() -> str:
    """Debian's Chromium; without it a local run skips, a CI run (CI=true) fails."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return executable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "JupyterLab exited while starting"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within {timeout:.0f} s")


def start_jupyterlab(folder: Path, db_url: str) -> tuple[subprocess.Popen, str]:
    """JupyterLab on a free loopback port with a random token, over a copy of the notebooks.

    Its configuration, settings and workspaces are the test's own, so the analyst's never
    leak in, nor a news toast over the screenshot; windowing is off so every cell's output
    is in the page, images included.
    """
    root = folder / "notebooks"
    shutil.copytree(layout.notebooks_dir(), root)
    settings = folder / "settings" / "@jupyterlab"
    for extension, plugin, value in [
        ("notebook-extension", "tracker", '{"windowingMode": "none"}'),
        ("apputils-extension", "notification", '{"fetchNews": "false"}'),  # no news toast
    ]:
        (settings / extension).mkdir(parents=True)
        (settings / extension / f"{plugin}.jupyterlab-settings").write_text(value)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "ROLLOUT_DB_URL": db_url,
        "JUPYTER_CONFIG_DIR": str(folder / "config"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",  # CI's containers run as root
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={folder / 'settings'}",
            f"--LabApp.workspaces_dir={folder / 'workspaces'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "jupyterlab.log").open("w"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{base}/api/status?token={token}", server)
    return server, f"{base}/lab/tree/{{notebook}}?token={token}"


@pytest.fixture
def lab(tmp_path) -> Iterator:
    """`lab(notebook, db_url)`: the notebook open in Chromium, in a JupyterLab of its own."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    servers, pages = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

        def open_notebook(notebook: str, db_url: str):
            server, url = start_jupyterlab(tmp_path / Path(notebook).stem, db_url)
            servers.append(server)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url.format(notebook=notebook))
            pages.append((Path(notebook).stem, page))
            return page

        try:
            yield open_notebook
        finally:  # the page as last seen, to tell a failure's cause
            for stem, page in pages:
                page.screenshot(path=str(tmp_path / f"{stem}-at-teardown.png"))
            browser.close()
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


def wait_for_kernel(page) -> None:
    """The notebook's kernel is "Python (rollout-gates)" and idle."""
    page.locator(".jp-NotebookPanel-toolbar .jp-KernelName").first.wait_for(timeout=120_000)
    page.wait_for_function(
        "name => [...document.querySelectorAll('.jp-NotebookPanel-toolbar .jp-KernelName')]"
        ".some(e => e.textContent.trim() === name)",
        arg=KERNEL,
        timeout=120_000,
    )
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)


def run_all_and_wait_for(page, output):
    """Run > Run All Cells, then wait for `output` (a locator) and the idle kernel."""
    page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
    output.wait_for(timeout=RUN_TIMEOUT_MS)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    return output


def run_all_and_wait_for_verdict(page, heading: str):
    """Check the kernel, Run > Run All Cells, wait for the verdict banner and the idle kernel."""
    wait_for_kernel(page)
    banner = page.locator(".jp-OutputArea .jp-RenderedMarkdown h1", has_text=heading)
    return run_all_and_wait_for(page, banner)


def assert_rendered_without_errors(page, figures: int, screenshot: Path) -> None:
    page.screenshot(path=str(screenshot), full_page=False)
    tracebacks = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        has_text="Traceback",
    )
    assert tracebacks.count() == 0, tracebacks.all_inner_texts()
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.locator(".jp-OutputArea-output img").count() >= figures


def test_full_health_runs_in_jupyterlab(lab, scenario_db, tmp_path):
    # `healthy`, production: 40 bookings an hour in full mode; over its 2,000 bookings 20
    # retries and 10 manual reviews spread evenly, so the last hour has at most 1 of each:
    # success >= 38/40 = 95% (not below 90%), manual review <= 1/39 = 2.6% (not above 5%), no
    # coordinator.error, no circuit_open, active starts throughout: every check PASS, and the
    # worst check is the verdict (DESIGN, *Verdicts*): PASS. The stored as_of is the server's
    # now(), a minute or two after the scenario's end: the hour still holds ~38-40 of them.
    page = lab("full-health.ipynb", scenario_db("healthy"))
    banner = run_all_and_wait_for_verdict(page, ": full-health on production")
    assert banner.inner_text().split(":")[0].split()[-1] == "PASS"
    banner.scroll_into_view_if_needed()
    # Three figures: success rate, manual review rate, errors and circuit opens.
    assert_rendered_without_errors(page, 3, tmp_path / "full-health.png")


def test_prerequisites_runs_in_jupyterlab(lab, scenario_db, tmp_path):
    # `healthy`, staging: full mode for 60h at 20 bookings an hour; the 48h window holds 960
    # bookings, 10 retries (failures after 15 min) and 5 manual reviews: success 945/960 =
    # 98.4% >= 97%, manual review 5/960 = 0.52% < 1%, no hour worse than 19/20 = 95% or 1/20
    # = 5% manual review (not above 5%), no errors or circuit opens, V3 on for ~60h >= 48h:
    # every check PASS, so PASS.
    page = lab("prerequisites.ipynb", scenario_db("healthy", "staging"))
    banner = run_all_and_wait_for_verdict(page, ": prerequisites on staging")
    assert banner.inner_text().split(":")[0].split()[-1] == "PASS"
    banner.scroll_into_view_if_needed()
    assert_rendered_without_errors(page, 3, tmp_path / "prerequisites.png")


def latest_manual_review(db_url: str) -> str:
    """The booking of the newest coordinator.manual_review that no later outcome event follows."""
    import psycopg

    query = """
        SELECT booking_id::text FROM (
            SELECT DISTINCT ON (booking_id) booking_id, event_type, created_at
            FROM observability_events
            WHERE source = 'assignment.coordinator' AND event_type = ANY(%s)
            ORDER BY booking_id, created_at DESC
        ) latest
        WHERE event_type = 'coordinator.manual_review'
        ORDER BY created_at DESC LIMIT 1
    """
    outcomes = [f"coordinator.{kind}" for kind in OUTCOME_KINDS]
    with psycopg.connect(db_url) as connection:
        return connection.execute(query, [outcomes]).fetchone()[0]


OUTCOME_KINDS = ("confirmed", "manual_review", "error", "retry", "circuit_open")


def test_booking_trace_runs_in_jupyterlab(lab, scenario_db, tmp_path):
    # The analyst's step after a red flag: open the trace, put the booking in the parameters
    # cell, run all. The booking is picked straight from the table: its latest coordinator
    # outcome event is a manual_review, so by DESIGN's definition (the latest outcome event
    # decides) it counts as a manual review; its state path is one chart.
    url = scenario_db("healthy")
    booking = latest_manual_review(url)
    page = lab("booking-trace.ipynb", url)
    wait_for_kernel(page)
    parameters = page.locator(".jp-CodeCell .cm-content", has_text="verdict_path =").first
    parameters.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(f'\nbooking_id = "{booking}"')
    heading = run_all_and_wait_for(page, page.locator(".jp-RenderedMarkdown h3", has_text=booking))
    page.get_by_text("bookings to trace: 1").wait_for(timeout=10_000)
    page.get_by_text("a manual review, counted against the success rate").first.wait_for(
        timeout=10_000
    )
    heading.scroll_into_view_if_needed()
    assert_rendered_without_errors(page, 1, tmp_path / "booking-trace.png")

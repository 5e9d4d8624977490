"""Odd telemetry and SQL injection attempts: counted or refused, never a crash, never run.

The rows are written by hand, so each expected count and verdict follows from them and
DESIGN.md's rules: 12 bookings, each a state transition (version 1), an active
coordinator.start and a coordinator.confirmed, spread over the hour before the as-of.
"""

import re
import shutil
import uuid
from datetime import UTC, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from rollout_gates.cli.main import main
from rollout_gates.config import params as config
from rollout_gates.core import layout
from rollout_gates.core.errors import UsageError
from rollout_gates.notebook.context import open_gate
from test_full_health_gate import ALL_CHECKS

INJECTION = "x'); drop table observability_events; --"
COORDINATOR, STATE_MACHINE = "assignment.coordinator", "assignment.state_machine"
CONFIRMED = {"strategy": "optimal", "attempts": 1, "duration_ms": 120, "trigger": "creation"}


def row(at, source, event_type, context, booking):
    return (at, source, event_type, None if context is None else Jsonb(context), booking)


def healthy_hour(end):
    """12 bookings confirmed in the hour before `end`; returns (rows, booking ids)."""
    bookings = [uuid.uuid4() for _ in range(12)]
    rows = []
    for i, booking in enumerate(bookings):
        start = end - timedelta(minutes=50) + timedelta(minutes=3 * i)
        transition = {"from": "created", "to": "capacity_verified", "version": 1, "metadata": {}}
        rows += [
            row(start - timedelta(seconds=1), STATE_MACHINE,
                "booking.assignment_state_transition", transition, booking),
            row(start, COORDINATOR, "coordinator.start",
                {"mode": "active", "trigger": "creation"}, booking),
            row(start + timedelta(seconds=2), COORDINATOR, "coordinator.confirmed",
                CONFIRMED, booking),
        ]  # fmt: skip
    return rows, bookings


def insert(url, rows):
    with psycopg.connect(url) as connection:
        connection.cursor().executemany(
            "INSERT INTO observability_events (created_at, source, event_type, context, "
            "booking_id) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )


def event_count(url) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT count(*) FROM observability_events").fetchone()[0]


@pytest.mark.db
@pytest.mark.slow
def test_telemetry_oddities_are_counted_in_an_advisory_check_not_crashed_on(
    run_gate, make_database, scenario_end, tmp_path
):
    end = scenario_end.astimezone(UTC)
    rows, b = healthy_hour(end)
    # Confirmed rows with an unreadable and a negative duration: still confirmed bookings.
    rows = [r for r in rows if not (r[2] == "coordinator.confirmed" and r[4] in (b[3], b[4]))]
    at = end - timedelta(minutes=5)
    rows += [
        row(at, COORDINATOR, "coordinator.confirmed", {**CONFIRMED, "duration_ms": "120ms"}, b[3]),
        row(at, COORDINATOR, "coordinator.confirmed", {**CONFIRMED, "duration_ms": -5}, b[4]),
        row(at, COORDINATOR, "coordinator.lock_acquired", None, b[1]),  # NULL context
        row(at, COORDINATOR, "coordinator.lock_acquired", [1, 2], b[2]),  # not an object
        row(at, COORDINATOR, "coordinator.teleported", {}, b[5]),  # unknown event type
        row(at, COORDINATOR, "coordinator.start", {"mode": "active"}, None),  # NULL booking_id
        next(r for r in rows if r[2] == "coordinator.confirmed" and r[4] == b[6]),  # duplicate
        # Version 2 written before version 1 of the same booking: out of order.
        row(end - timedelta(minutes=50, seconds=10) + timedelta(minutes=3 * 7), STATE_MACHINE,
            "booking.assignment_state_transition",
            {"from": "capacity_verified", "to": "assignment_pending", "version": 2}, b[7]),
    ]  # fmt: skip
    url = make_database("oddities")
    insert(url, rows)
    naive = end.replace(tzinfo=None)
    run = run_gate("full-health", "production", url, tmp_path, naive)
    assert f"--as-of {naive.isoformat()} had no time zone: taken as UTC" in run.completed.stderr
    assert run.verdict["as_of"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S"))
    assert run.verdict["as_of"].endswith("Z")
    # 12 bookings decided, all confirmed: every red-flag check passes; the oddities only warn.
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(ALL_CHECKS, "PASS") | {"telemetry_quality": "WARN"}
    assert run.checks["success_rate"]["sample_size"] == 12
    quality = run.checks["telemetry_quality"]
    # 36 rows of the 12 bookings (b3's and b4's confirmed with odd durations), then the
    # NULL and the list context, the unknown type, the start without booking, the duplicate
    # and the early version 2.
    assert quality["sample_size"] == 36 + 6
    assert quality["observed"] == 8
    for oddity in (
        "1 context NULL", "1 context not a JSON object", "1 duration_ms not a number",
        "1 duration_ms negative", "1 unknown coordinator event type", "1 duplicate event",
        "1 state transition out of order", "1 booking_id NULL",
    ):  # fmt: skip
        assert oddity in quality["detail"]
    table = (run.run_dir / "tables" / "telemetry_quality.csv").read_text()
    assert "events examined,42" in table


@pytest.mark.db
@pytest.mark.slow
def test_event_type_override_with_sql_is_a_bound_value_and_the_table_survives(
    run_gate, make_database, scenario_end, tmp_path
):
    params = tmp_path / "params"
    shutil.copytree(layout.params_dir(), params)
    taxonomy = config.read_yaml(params / "taxonomy.yaml")
    taxonomy["coordinator"]["outcomes"]["confirmed"] = INJECTION
    (params / "taxonomy.yaml").write_text(yaml.safe_dump(taxonomy))
    url = make_database("injection")
    rows, _ = healthy_hour(scenario_end)
    insert(url, rows)
    run = run_gate(
        "full-health", "production", url, tmp_path / "out", scenario_end,
        extra_env={"ROLLOUT_PARAMS_DIR": str(params)},
    )  # fmt: skip
    assert event_count(url) == 36, "the table and all its rows are still there"
    # No event is of the injected type, so no booking is decided: INCONCLUSIVE, not ERROR;
    # the 12 coordinator.confirmed rows are now of a type the taxonomy does not know.
    assert run.completed.returncode == 3, run.completed.stdout + run.completed.stderr
    assert run.checks["success_rate"]["status"] == "INCONCLUSIVE"
    assert run.checks["success_rate"]["sample_size"] == 0
    assert run.checks["telemetry_quality"]["detail"].startswith("12 unknown coordinator event type")


@pytest.mark.parametrize(
    "args",
    [
        ["--env", INJECTION],
        ["--env", "production", "--set", f"window={INJECTION}"],
        ["--env", "production", "--set", f"success_rate_min={INJECTION}"],
        ["--env", "production", "--set", f"{INJECTION}=1"],
    ],
)
def test_sql_in_an_env_name_or_set_value_is_refused_before_anything_runs(args, tmp_path):
    result = CliRunner().invoke(
        main,
        ["run", "full-health", "--db-url", "postgresql://u@h/db",
         "--output-dir", str(tmp_path), *args],
    )  # fmt: skip
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())


def test_sql_in_a_notebook_env_parameter_is_refused_before_connecting():
    with pytest.raises(UsageError, match="unknown environment"):
        open_gate("full-health", env=INJECTION)


# The one statement composed in code: a packaged .sql file behind a line naming it.
COMPOSED_IN_LOAD_QUERY = 'return sa.text(f"{QUERY_NAME_PREFIX}{name}\\n{text}")'


def test_no_query_is_built_from_strings():
    # Every statement of the gates is a queries/*.sql file with :named bound parameters.
    package = Path(layout.PROJECT_ROOT) / "lib" / "rollout_gates"
    built = re.compile(r"(execute|text|exec_driver_sql)\((\s*f[\"']|.*\.format\(|.*[\"']\s*%\s)")
    for path in package.rglob("*.py"):
        if path.name in ("admin.py", "simulate.py", "embedded.py"):
            continue  # writable helpers for simulate and tests, never used by a gate
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip() == COMPOSED_IN_LOAD_QUERY:
                continue
            assert not built.search(line), f"{path.name}:{number}: {line.strip()}"

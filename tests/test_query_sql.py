"""Every query stays fast with the live schema's indexes alone (primary key, created_at).

Statically: each read of observability_events bounds created_at from both sides with bound
parameters, wraps created_at in no function inside a predicate and never reads now(). On a real
server: with sequential scans off and only those indexes, every read of the table is an index
range scan on created_at (a query without the bound would fall back to a full scan).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import psycopg
import pytest
import sqlalchemy as sa

from rollout_gates.telemetry import db

QUERIES = resources.files("rollout_gates.telemetry").joinpath("queries")
SQL_FILES = sorted(
    [entry for entry in QUERIES.iterdir() if entry.name.endswith(".sql")]
    + [entry for entry in QUERIES.joinpath("runbook").iterdir() if entry.name.endswith(".sql")],
    key=lambda entry: entry.name,
)
TABLE_REFERENCE = re.compile(r"\b(?:FROM|JOIN)\s+observability_events(?:\s+AS\s+(\w+))?", re.I)
READS_EVENTS = [entry for entry in SQL_FILES if TABLE_REFERENCE.search(entry.read_text())]
PREDICATE_LINE = re.compile(r"^\s*(WHERE|AND|OR|ON)\b.*$", re.I | re.M)
FUNCTION_ON_CREATED_AT = re.compile(r"\w\s*\(\s*(?:\w+\.)?created_at\b|created_at\s*::", re.I)
CREATED_AT_INDEX = "observability_events_created_at_idx"
AS_OF = datetime(2026, 11, 28, tzinfo=UTC)


def without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


@pytest.mark.parametrize("entry", READS_EVENTS, ids=lambda entry: entry.name)
def test_each_read_of_the_table_bounds_created_at_with_bound_parameters(entry):
    sql = without_comments(entry.read_text())
    references = list(TABLE_REFERENCE.finditer(sql))
    for number, reference in enumerate(references):
        end = references[number + 1].start() if number + 1 < len(references) else len(sql)
        scope = sql[reference.end() : end]
        column = rf"(?<![\w.]){reference.group(1)}\.created_at" if reference.group(1) else ""
        column = column or r"(?<![\w.])created_at"
        assert re.search(rf"{column}\s*>=\s*:\w+", scope), f"no lower bound: {reference[0]}"
        assert re.search(rf"{column}\s*<\s*:\w+", scope), f"no upper bound: {reference[0]}"
    for line in PREDICATE_LINE.finditer(sql):
        assert not FUNCTION_ON_CREATED_AT.search(line[0]), f"function on created_at: {line[0]}"
    assert "now()" not in sql.lower(), "now() instead of a bound as-of"


def bind_value(name: str):
    """A plausible value for a query parameter, by the naming convention of queries/*.sql."""
    if name in ("interval_starts", "interval_ends"):
        return [AS_OF - timedelta(hours=2)] if name == "interval_starts" else [AS_OF]
    if name == "as_of" or name.endswith(("_start", "_end", "_at", "_before")):
        return AS_OF - (timedelta(days=2) if name.endswith("_start") else timedelta(0))
    if name in ("bucket", "grace", "stuck_after"):
        return timedelta(minutes=10)
    if name.endswith("_path"):  # a path into context, as text[]
        return ["bookingId"]
    if name.endswith(("_types", "_sources", "_classes", "_states")):
        return ["assignment.coordinator", "auto_assign"]
    if name == "max_listed":
        return 10
    if name.endswith("_ids"):  # booking ids, as text[]
        return ["7b0e8f4e-8f3a-4c51-9a53-1d8f0c0e2a11"]
    return "assignment.coordinator"


def scans_of_events(node: dict) -> list[dict]:
    """Plan nodes that read observability_events (a bitmap heap scan with its index scans)."""
    found = []
    if node.get("Relation Name") == "observability_events":
        found.append(node)
    for child in node.get("Plans", []):
        found += scans_of_events(child)
    return found


def index_names(node: dict) -> set[str]:
    names = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        names |= index_names(child)
    return names


@pytest.mark.db
def test_every_read_of_the_table_is_a_created_at_index_range(make_database):
    url = make_database("index_ranges")
    with psycopg.connect(url, autocommit=True) as connection:
        # The live production schema: the primary key and the created_at index only.
        connection.execute("DROP INDEX observability_events_source_idx")
        connection.execute("DROP INDEX observability_events_booking_id_idx")
    engine = db.create_readonly_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        for entry in READS_EVENTS:
            sql = entry.read_text()
            names = set(re.findall(r"(?<!:):(\w+)", without_comments(sql)))
            binds = {name: bind_value(name) for name in names}
            plan = connection.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}"), binds).scalar()
            plan = plan if isinstance(plan, list) else json.loads(plan)
            scans = scans_of_events(plan[0]["Plan"])
            assert scans, entry.name
            for scan in scans:
                used = index_names(scan) if "Index Name" not in scan else {scan["Index Name"]}
                assert used == {CREATED_AT_INDEX}, f"{entry.name}: {scan['Node Type']} {used}"
                condition = json.dumps(scan)
                assert "created_at >=" in condition and "created_at <" in condition, entry.name

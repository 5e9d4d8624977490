"""Load benchmark tables of observability_events, generated server-side by generate.sql.

Every table spans 30 days before END. The last 15 days (the longest span a gate reads: cleanup's
14-day lookback plus grace) hold DENSITY x 50,000 rows: at density 1 today's platform (about
3,300 events a day, 139 an hour), at 100 about 14,000 an hour; the first 15 days hold the rest.
So at one density each gate's window has the same events per hour at every size, and only the
table grows; at one size, the density sets how much work the windows hold.

The regions load side by side, so their rows interleave on disk; production's table is an
append-only log, its rows on disk in created_at order (pg_stats correlation near 1), which is
what lets a created_at range read only the window's pages. So the table is rewritten in that
order (CLUSTER) before its indexes are built: without it the planner reads a 48h window at
100x with a sequential scan of the whole table, which production would not do.
"""

import subprocess
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import psycopg

from rollout_gates.ops import admin

SCHEMA = resources.files("rollout_gates.ops").joinpath("schema.sql")

END = datetime(2026, 11, 28, tzinfo=UTC)
SPAN = timedelta(days=30)
RECENT = timedelta(days=15)
RECENT_EVENTS = 50_000
V3_SINCE = END - timedelta(days=18)
RECENT_SEED, HISTORY_SEED = 7, 11
GENERATOR = Path(__file__).with_name("generate.sql")
# The live production schema (spec/telemetry.md): the primary key and the created_at index only.
MIGRATION_ONLY_INDEXES = ("observability_events_source_idx", "observability_events_booking_id_idx")
PRIMARY_KEY = "observability_events_pkey"


def load_table(
    server_url: str, database: str, events: int, density: int = 1
) -> tuple[str, dict[str, float], int]:
    """Create `database` with `events` rows, `density` x today's in the last 15 days; returns
    its URL, seconds per load step, the rows.

    The regions load side by side (the history in two halves), into a table without indexes;
    then the table is put in created_at order, as an append-only log is, the primary key and
    the created_at index are built and the table analyzed.
    """
    recent = RECENT_EVENTS * density
    if recent > events:
        raise ValueError(f"{events:,} events cannot hold {density}x ({recent:,} in 15 days)")
    url = admin.create_database(server_url, database, replace=True)
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        for index in MIGRATION_ONLY_INDEXES:
            connection.execute(f"DROP INDEX {index}")
        connection.execute("DROP INDEX observability_events_created_at_idx")
        connection.execute(f"ALTER TABLE observability_events DROP CONSTRAINT {PRIMARY_KEY}")
    history_start, middle = END - SPAN, END - SPAN + (SPAN - RECENT) / 2
    history = events - recent
    loads = [
        generate_region(url, history_start, middle, history // 2, HISTORY_SEED),
        generate_region(url, middle, END - RECENT, history - history // 2, HISTORY_SEED + 1),
        generate_region(url, END - RECENT, END, recent, RECENT_SEED),
    ]
    for process in loads:
        if process.wait() != 0:
            raise RuntimeError(f"generate.sql failed for {database}")
    inserted = time.perf_counter()
    schema = SCHEMA.read_text()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        order_by_created_at(connection)
        ordered = time.perf_counter()
        connection.execute("ALTER TABLE observability_events ADD PRIMARY KEY (id)")
        for statement in schema.split(";"):
            if "created_at_idx" in statement:
                connection.execute(statement)
        indexed = time.perf_counter()
        connection.execute("ANALYZE observability_events")
        rows = connection.execute("SELECT count(*) FROM observability_events").fetchone()[0]
    analyzed = time.perf_counter()
    steps = {
        "insert": inserted - began,
        "order": ordered - inserted,
        "indexes": indexed - ordered,
        "analyze": analyzed - indexed,
        "total": analyzed - began,
    }
    return url, steps, rows


def order_by_created_at(connection: psycopg.Connection) -> None:
    """Rewrite the table in ascending created_at order, as rows arrive in production (CLUSTER
    needs an index to order by; the live one is descending, so a temporary one is used)."""
    connection.execute("CREATE INDEX bench_created_at_order ON observability_events (created_at)")
    connection.execute("CLUSTER observability_events USING bench_created_at_order")
    connection.execute("DROP INDEX bench_created_at_order")


def generate_region(
    url: str, start: datetime, end: datetime, events: int, seed: int
) -> subprocess.Popen:
    """Start generate.sql through psql for one region of the timeline."""
    variables = {
        "region_start": start.isoformat(),
        "region_end": end.isoformat(),
        "v3_since": V3_SINCE.isoformat(),
        "events": str(events),
        "seed": str(seed),
    }
    command = ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(GENERATOR)]
    for name, value in variables.items():
        command[1:1] = ["-v", f"{name}={value}"]
    return subprocess.Popen(command)

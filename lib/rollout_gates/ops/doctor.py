"""`rollout-gates doctor`: can the gates run against this database, and will they be fast?

Read-only, through the gates' own session (db.create_readonly_engine). Index advice is printed
as CREATE INDEX CONCURRENTLY statements for a DBA to run, never run here.
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ..config import params as config
from ..telemetry import db
from ..telemetry.arrivals import arrival_binds
from ..telemetry.metrics import Window, fetch_frame, load_query

# spec/telemetry.md: the columns the gates read, with their types.
EXPECTED_COLUMNS = {
    "id": "uuid",
    "created_at": "timestamp with time zone",
    "source": "text",
    "event_type": "text",
    "severity": "text",
    "context": "jsonb",
    "restaurant_id": "uuid",
    "booking_id": "uuid",
}
MIN_SERVER_VERSION = 140000  # date_bin, used to align buckets to the as-of time
RECENT_DAYS = 7
# Index that would help: (key columns, name, why). The gates need only created_at; the
# others narrow a window to a source without reading the window's noise.
HELPFUL_INDEXES = (
    (("created_at",), "observability_events_created_at_idx", "every gate reads a time window"),
    (
        ("source", "created_at"),
        "observability_events_source_created_at_idx",
        "the gates read one or two sources of a window (88% of rows are other sources' noise)",
    ),
)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok, warn or fail
    detail: str
    essential: bool = True

    @property
    def failed(self) -> bool:
        return self.status == "fail" and self.essential


@dataclass(frozen=True)
class Diagnosis:
    findings: list[Finding]
    suggestions: list[str]

    @property
    def failed(self) -> bool:
        return any(finding.failed for finding in self.findings)


def diagnose(url: str) -> Diagnosis:
    """Run every check against the database at `url`; stops early when nothing more can run."""
    engine = db.create_readonly_engine(url, statement_timeout=timedelta(seconds=30))
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        failure = Finding("connection", "fail", db.describe_db_error(exc, url))
        return Diagnosis([failure], [])
    try:
        return check_database(connection, url)
    except sa.exc.SQLAlchemyError as exc:
        failure = Finding("query", "fail", db.describe_db_error(exc, url))
        return Diagnosis([Finding("connection", "ok", db.redact_url(url)), failure], [])
    finally:
        connection.close()


def check_database(connection: sa.Connection, url: str) -> Diagnosis:
    server = connection.execute(load_query("doctor_server")).one()
    findings = [
        Finding("connection", "ok", f"{db.redact_url(url)} as role {server.role}"),
        check_version(server),
        check_read_only(server),
    ]
    if not server.has_table:
        findings.append(Finding("table", "fail", "no observability_events table in this database"))
        return Diagnosis(findings, [])
    findings.append(check_privileges(server))
    columns = fetch_frame(connection, "doctor_columns")
    types = dict(zip(columns["column_name"], columns["data_type"], strict=True))
    columns_found = check_columns(types)
    findings.append(columns_found)
    indexes = fetch_frame(connection, "doctor_indexes")
    usable = [
        tuple(keys)
        for keys, valid in zip(indexes["key_columns"], indexes["valid"], strict=True)
        if valid
    ]
    findings.append(describe_indexes(indexes))
    findings.append(describe_row_estimate(server.estimated_rows))
    if server.can_select:
        window = Window.ending(server.server_now, timedelta(days=RECENT_DAYS))
        per_day = fetch_frame(connection, "doctor_events_per_day", **window.binds())
        findings.append(describe_events_per_day(per_day["events"].tolist()))
        if columns_found.status == "ok":  # it reads context and booking_id
            findings.append(check_arrivals(connection, window))
    return Diagnosis(findings, suggest_indexes(usable))


def check_version(server) -> Finding:
    if server.server_version_num < MIN_SERVER_VERSION:
        return Finding(
            "server", "fail", f"PostgreSQL {server.server_version}: the gates need 14 or later"
        )
    detail = f"PostgreSQL {server.server_version}, database {server.database}"
    return Finding("server", "ok", detail)


def check_read_only(server) -> Finding:
    if server.read_only != "on":
        return Finding("read-only", "fail", "the gates' session is not read-only")
    return Finding("read-only", "ok", "the gates' session is read-only (writes are refused)")


def check_privileges(server) -> Finding:
    if not server.can_select:
        return Finding("privileges", "fail", f"role {server.role} may not SELECT the table")
    if server.can_write:
        return Finding(
            "privileges",
            "warn",
            f"role {server.role} may also write the table: a read-only role is safer "
            "(the gates' sessions are read-only either way)",
            essential=False,
        )
    return Finding("privileges", "ok", f"role {server.role} may SELECT the table, not write it")


def check_columns(found: dict[str, str]) -> Finding:
    """Every column the gates read exists with its spec/telemetry.md type."""
    wrong = [
        f"{name} is {found[name]}, expected {expected}" if name in found else f"{name} missing"
        for name, expected in EXPECTED_COLUMNS.items()
        if found.get(name) != expected
    ]
    if wrong:
        return Finding("columns", "fail", "; ".join(wrong))
    listed = ", ".join(f"{name} {kind}" for name, kind in found.items())
    return Finding("columns", "ok", listed)


def describe_indexes(indexes) -> Finding:
    if indexes.empty:
        return Finding("indexes", "warn", "none: every gate reads the whole table", essential=False)
    names = [
        f"{name} ({', '.join(keys)}){'' if valid else ' INVALID'}"
        for name, keys, valid in zip(
            indexes["index_name"], indexes["key_columns"], indexes["valid"], strict=True
        )
    ]
    has_time_index = any(
        keys and keys[0] == "created_at" and valid
        for keys, valid in zip(indexes["key_columns"], indexes["valid"], strict=True)
    )
    status = "ok" if has_time_index else "warn"
    return Finding("indexes", status, "; ".join(names), essential=False)


def describe_row_estimate(estimated_rows: float | None) -> Finding:
    if estimated_rows is None or estimated_rows < 0:
        return Finding(
            "rows", "warn", "no estimate: the table was never analyzed (run ANALYZE)", False
        )
    return Finding("rows", "ok", f"about {estimated_rows:,.0f} (planner estimate, pg_class)")


def describe_events_per_day(per_day: list[int]) -> Finding:
    if not any(per_day):
        return Finding(
            "events per day",
            "warn",
            f"no events in the last {RECENT_DAYS} days: the gates would have nothing to judge",
            essential=False,
        )
    counts = ", ".join(f"{count:,}" for count in per_day)
    detail = f"days with events in the last {RECENT_DAYS}, oldest first: {counts}"
    return Finding("events per day", "ok", detail, essential=False)


def check_arrivals(connection: sa.Connection, window: Window) -> Finding:
    """Whether the gates can count bookings created, or fall back to planner activity."""
    taxonomy = config.load_taxonomy()
    binds = arrival_binds(taxonomy)
    row = fetch_frame(
        connection,
        "doctor_arrivals",
        **window.binds(),
        arrivals_source=binds["arrivals_source"],
        created_type=binds["created_type"],
        activity_sources=list(taxonomy["booking_activity_sources"]),
    ).iloc[0]
    created, planner = int(row["created"]), int(row["planner_bookings"])
    event = f"{binds['created_type']} ({binds['arrivals_source']})"
    days = f"the last {RECENT_DAYS} days"
    if created:
        detail = f"{created:,} {event} events in {days}: the gates count bookings created"
        return Finding("arrivals", "ok", detail, essential=False)
    if planner:
        detail = (
            f"no {event} event in {days}, but {planner:,} bookings with planner activity: "
            "an older deploy? The gates fall back to planner activity to tell silence from "
            "no bookings, and say so in their details"
        )
        return Finding("arrivals", "warn", detail, essential=False)
    detail = f"no {event} event and no booking with planner activity in {days}"
    return Finding("arrivals", "warn", detail, essential=False)


def suggest_indexes(usable: list[tuple[str, ...]]) -> list[str]:
    """CREATE INDEX CONCURRENTLY for each helpful index no valid index already starts with."""
    statements = []
    for keys, name, why in HELPFUL_INDEXES:
        if any(existing[: len(keys)] == keys for existing in usable):
            continue
        statements.append(
            f"-- {why}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS {name}\n"
            f"    ON observability_events ({', '.join(keys)});"
        )
    return statements


def report_lines(diagnosis: Diagnosis, env: str) -> list[str]:
    """The findings, one line each, then the suggested statements."""
    lines = [f"doctor: the {env} database"]
    lines += [f"  {f.status.upper():<5} {f.check:<15} {f.detail}" for f in diagnosis.findings]
    if diagnosis.suggestions:
        lines.append(
            "\nIndexes that would help, for a DBA to run (outside a transaction; doctor ran none):"
        )
        lines += diagnosis.suggestions
    return lines

"""`rollout-gates doctor` against real databases: what it finds, what it suggests, exit codes."""

import psycopg
import pytest

pytestmark = pytest.mark.db


def index_names(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'observability_events'"
        ).fetchall()
    return {row[0] for row in rows}


def test_a_sound_database_passes_and_gets_index_advice_never_applied(cli, make_database):
    url = make_database("doctor_sound")
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO observability_events (source, event_type) "
            "VALUES ('capacity', 'capacity.rpc.conflict')"
        )
    before = index_names(url)
    completed = cli("doctor", "--env", "production", "--db-url", url)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    for check in ("connection", "server", "read-only", "columns", "indexes"):
        assert any(line.split()[:2] == ["OK", check] for line in out.splitlines()), check
    assert "context jsonb" in out and "observability_events_created_at_idx (created_at)" in out
    assert "days with events in the last 7, oldest first: 1" in out
    # The test role owns the table: a warning, not a failure.
    assert "WARN  privileges" in out
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS observability_events_source_created_at" in out
    assert "ON observability_events (source, created_at);" in out
    assert index_names(url) == before


def test_a_column_of_the_wrong_type_fails_with_exit_4(cli, make_database):
    url = make_database("doctor_wrong_type")
    with psycopg.connect(url) as connection:
        connection.execute("ALTER TABLE observability_events ALTER COLUMN context TYPE text")
        connection.execute("ALTER TABLE observability_events DROP COLUMN booking_id")
    completed = cli("doctor", "--env", "production", "--db-url", url)
    assert completed.returncode == 4
    assert "FAIL  columns         context is text, expected jsonb; booking_id missing" in (
        completed.stdout
    )


def test_a_database_without_the_table_fails_with_exit_4(cli, make_database):
    url = make_database("doctor_no_table")
    with psycopg.connect(url) as connection:
        connection.execute("DROP TABLE observability_events")
    completed = cli("doctor", "--env", "staging", "--db-url", url)
    assert completed.returncode == 4
    assert "FAIL  table           no observability_events table in this database" in (
        completed.stdout
    )
    assert "CREATE INDEX" not in completed.stdout

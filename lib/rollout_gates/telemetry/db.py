"""Read-only database sessions, and their failures in one line that never shows a password."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.errors import DatabaseError
from ..core.secrets import redact_text, redact_url, secrets_of, sqlalchemy_url
from ..core.timefmt import format_duration

APPLICATION_NAME = "rollout-gates"
# metrics.load_query starts every statement with this line, so a failure can name its query.
QUERY_NAME_PREFIX = "-- rollout-gates query: "
_QUERY_NAME = re.compile(re.escape(QUERY_NAME_PREFIX) + r"(\S+)")


def create_readonly_engine(
    url: str, statement_timeout: timedelta = timedelta(seconds=60)
) -> Engine:
    """An engine whose every session is read-only, time-limited and named rollout-gates."""
    timeout_ms = int(statement_timeout.total_seconds() * 1000)
    engine = sa.create_engine(
        sqlalchemy_url(url),
        connect_args={"application_name": APPLICATION_NAME, "connect_timeout": 10},
        pool_pre_ping=False,
        poolclass=sa.pool.NullPool,
        execution_options={"postgresql_readonly": True},
    )

    @sa.event.listens_for(engine, "connect")
    def _configure_session(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = on")
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", (str(timeout_ms),))
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit

    @sa.event.listens_for(engine, "handle_error")
    def _name_failed_query(context):
        if context.statement is not None:
            raise DatabaseError(
                describe_query_error(context.original_exception, context.statement, url, timeout_ms)
            )

    return engine


@contextmanager
def readonly_connection(engine: Engine, url: str) -> Iterator[Connection]:
    """A connection from the engine; connection failures become one-line DatabaseErrors."""
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(describe_db_error(exc, url)) from None
    try:
        yield connection
    finally:
        connection.close()


def describe_db_error(exc: BaseException, url: str) -> str:
    """One line naming the cause, with every password removed."""
    original = getattr(exc, "orig", None) or exc
    message = " ".join(str(original).split())
    return f"database {redact_url(url)}: {redact_text(message, secrets_of(url))}"


def describe_query_error(exc: BaseException, statement: str, url: str, timeout_ms: int) -> str:
    """One line naming the failed query and why: on call the query is what to look at first."""
    match = _QUERY_NAME.search(statement)
    query = f"query {match[1]}" if match else f"statement {' '.join(statement.split())[:60]!r}"
    message = redact_text(" ".join(str(exc).split()), secrets_of(url))
    if "statement timeout" in message:
        limit = format_duration(timedelta(milliseconds=timeout_ms))
        return (
            f"{query} exceeded statement_timeout {limit} and was cancelled "
            f"(raise it with --set statement_timeout=...): {message}"
        )
    return f"{query} failed on {redact_url(url)}: {message}"

"""Read-only database sessions and URL handling that never shows a password."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.errors import DatabaseError, UsageError
from ..core.timefmt import format_duration

URL_ENV_VARS = ("ROLLOUT_DB_URL", "SUPABASE_DB_URL")
# Secrets that may sit in the environment: never shown, whatever fails.
WEBHOOK_ENV = "ROLLOUT_NOTIFY_WEBHOOK"  # a secret: the URL of the chat webhook
SECRET_ENV_VARS = ("PGPASSWORD", WEBHOOK_ENV)
APPLICATION_NAME = "rollout-gates"
# metrics.load_query starts every statement with this line, so a failure can name its query.
QUERY_NAME_PREFIX = "-- rollout-gates query: "
_QUERY_NAME = re.compile(re.escape(QUERY_NAME_PREFIX) + r"(\S+)")
_URL_WITH_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)", re.IGNORECASE)


def resolve_db_url(explicit: str | None = None) -> str:
    """--db-url, else ROLLOUT_DB_URL, else SUPABASE_DB_URL (the runbook's variable)."""
    if explicit:
        return explicit
    for name in URL_ENV_VARS:
        if os.environ.get(name):
            return os.environ[name]
    raise UsageError(
        "no database URL: pass --db-url or set ROLLOUT_DB_URL or SUPABASE_DB_URL "
        "(to try the tool on simulated data, run `rollout-gates demo`)"
    )


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for anything shown or written."""
    parts = urlsplit(url)
    if parts.password is None or parts.password == "":
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords of any URL in free text, and any given secret strings."""
    text = _URL_WITH_PASSWORD.sub(r"\1***\3", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def url_password(url: str) -> str | None:
    return urlsplit(url).password or None


def secrets_of(url: str) -> tuple[str, ...]:
    """The URL's password and the secrets in the environment, for redact_text."""
    candidates = [url_password(url), *(os.environ.get(name) for name in SECRET_ENV_VARS)]
    return tuple(filter(None, candidates))


def sqlalchemy_url(url: str) -> str:
    """postgres:// and postgresql:// URLs as SQLAlchemy URLs for the psycopg 3 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise UsageError(
            f"unsupported database URL {redact_url(url)!r}: expected postgresql://USER@HOST/DB"
        )
    return f"postgresql+psycopg://{rest}"


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

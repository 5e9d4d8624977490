"""Read-only database sessions and URL handling that never shows a password."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .errors import DatabaseError, UsageError

URL_ENV_VARS = ("ROLLOUT_DB_URL", "SUPABASE_DB_URL")
APPLICATION_NAME = "rollout-gates"
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
            cursor.execute(f"SET statement_timeout = {timeout_ms:d}")
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit

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
    secrets = tuple(filter(None, [url_password(url), os.environ.get("PGPASSWORD")]))
    return f"database {redact_url(url)}: {redact_text(message, secrets)}"

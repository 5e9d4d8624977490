"""Writable connections, for the simulator, the embedded server and tests only.

Gates never use this module: their sessions come from db.create_readonly_engine.
"""

from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from ..core.errors import DatabaseError
from ..telemetry.db import describe_db_error


def writable_connection(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(_libpq_url(url), application_name="rollout-gates-admin")
    except psycopg.Error as exc:
        raise DatabaseError(describe_db_error(exc, url)) from None


def apply_schema(connection: psycopg.Connection) -> None:
    """Create observability_events and its indexes (spec/telemetry.md) if missing."""
    schema = resources.files(__package__).joinpath("schema.sql").read_text()
    connection.execute(schema)
    connection.commit()


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def create_database(server_url: str, database: str, *, replace: bool = False) -> str:
    """Create `database` on the server (dropping it first if `replace`), with the schema."""
    with writable_connection(server_url) as connection:
        connection.autocommit = True
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists and replace:
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
            )
        if not exists or replace:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = with_database(server_url, database)
    with writable_connection(url) as connection:
        apply_schema(connection)
    return url


def drop_database(server_url: str, database: str) -> None:
    with writable_connection(server_url) as connection:
        connection.autocommit = True
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def _libpq_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgres") else url

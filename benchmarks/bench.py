"""`make bench`: gate cost against the window's work, and start-up against plain papermill.

First the floor: `rollout-gates run full-health` and papermill of a minimal notebook (pandas,
SQLAlchemy, matplotlib: one query, one figure) on the same kernel, alternating, on a small
table. Then one table of --size rows per density (1x, 10x, 100x today's events per hour in the
gates' windows; load.py), with the live schema's indexes only (primary key, created_at): per
gate, RUNS times each: `rollout-gates run` end to end (wall time, peak RSS of the runner and its
kernel); `psql -f` of the runbook's queries over the gate's window; EXPLAIN (ANALYZE, BUFFERS)
of each of the gate's statements, captured with its parameters by auto_explain in one extra
run (a gate whose capture finds no statement is an error, never 0 ms). Then the index that
`rollout-gates doctor` suggests is built and the same is measured again. Optionally `run all
--jobs 1` against `--jobs 2`. Writes a JSON file of the raw numbers and RESULTS.md after every
table. Runs on its own embedded server (ROLLOUT_BENCH_PGDATA), never the demo's or the tests'.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import load
import nbformat
import psutil
import psycopg
import report

# Every import of rollout_gates is here, so that a move of its modules is one edit.
from rollout_gates.config import params as config
from rollout_gates.core import layout, timefmt
from rollout_gates.gates import gate_ids, gate_module
from rollout_gates.ops import admin, doctor, embedded
from rollout_gates.run import runner
from rollout_gates.telemetry import db

RUNBOOK_QUERIES = resources.files("rollout_gates.telemetry").joinpath("queries", "runbook")

SIZES = {"100k": 100_000, "400k": 400_000, "1m": 1_000_000, "10m": 10_000_000}
FLOOR_ROWS = 100_000  # the start-up comparison's table: today's density, little SQL
QUICK = {"size": "400k", "densities": "1,4", "runs": 1, "index_runs": 1, "floor_pairs": 2}
FULL = {"size": "10m", "densities": "1,10,100", "runs": 3, "index_runs": 3, "floor_pairs": 10}
HERE = Path(__file__).parent
# Parameters a gate would otherwise take from a flag ledger the benchmark does not have.
SETTINGS = {
    "rollback": {"rollback_at": (load.END - timefmt.parse_duration("3h")).isoformat()},
    "scale": {"max_parallel": "3"},
}
AUTO_EXPLAIN = (
    "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 "
    "-c auto_explain.log_analyze=on -c auto_explain.log_buffers=on "
    "-c auto_explain.log_format=json"
)
PLAN_LOG = re.compile(r"duration: ([0-9.]+) ms\s+plan:\s*")
PARAMETER = re.compile(r"\$([0-9]+) = (NULL|'(?:[^']|'')*')")
# metrics.load_query starts every gate statement with this comment line naming its query.
QUERY_NAME = re.compile(r"^\s*" + re.escape(db.QUERY_NAME_PREFIX) + r"(\S+)")


@dataclass
class Measured:
    """One gate on one table: RUNS samples of each measure, and the last plans seen."""

    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    query_ms: dict[str, list[float]] = field(default_factory=dict)
    query_scans: dict[str, list[str]] = field(default_factory=dict)
    query_buffers: dict[str, int] = field(default_factory=dict)
    psql_seconds: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    statements: int = 0
    capture_status: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a quick try: {QUICK}")
    parser.add_argument("--size", help=f"rows of each table: {', '.join(SIZES)} (10m)")
    parser.add_argument("--densities", help="comma-separated multiples of today's events/hour")
    parser.add_argument("--runs", type=int, help="samples of each measure (3)")
    parser.add_argument("--index-runs", type=int, help="samples with the doctor's index (3)")
    parser.add_argument("--floor-pairs", type=int, help="start-up pairs, 0 to skip (10)")
    parser.add_argument("--no-index", action="store_true", help="skip the doctor's index")
    parser.add_argument("--no-psql", action="store_true", help="skip `psql -f` of the runbook")
    parser.add_argument("--gates", default="", help="comma-separated gate ids (default: all)")
    parser.add_argument("--jobs-density", default="", help="density of the --jobs comparison")
    parser.add_argument("--profile", action="store_true", help="cProfile full-health once")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    pgdata = Path(
        os.environ.get("ROLLOUT_BENCH_PGDATA", "~/.cache/rollout-gates/bench/pgdata")
    ).expanduser()
    server = admin.with_database(embedded.start(pgdata)["production"], "postgres")
    gates = args.gates.split(",") if args.gates else gate_ids()
    out = Path(tempfile.mkdtemp(prefix="rollout-gates-bench-"))
    results = {
        "started": datetime.now(UTC).isoformat(),
        "command": " ".join(sys.argv[1:]),
        "machine": machine_facts(server),
        "runs": args.runs,
        "index_runs": args.index_runs,
        "size": args.size,
        "psql": not args.no_psql,
        "tables": [],
        "loads": {},
        "gates": {},
        "floor": {},
        "jobs": {},
        "load_samples": [],
    }
    stamp = layout.stamp(datetime.now(UTC))
    raw = HERE / "results" / f"{stamp}.json"
    if args.floor_pairs:
        say(f"start-up: {args.floor_pairs} pairs on a {FLOOR_ROWS:,}-row table ...")
        url, _, _ = load.load_table(server, "bench_floor", FLOOR_ROWS)
        results["floor"] = measure_floor(url, out, args.floor_pairs, results)
        admin.drop_database(server, "bench_floor")
        write_results(results, raw)
    for density in map(int, args.densities.split(",")):
        label = f"{density}x"
        database = f"bench_{args.size}_{label}"
        say(f"loading {args.size} ({SIZES[args.size]:,} events) at {label} ...")
        url, steps, rows = load.load_table(server, database, SIZES[args.size], density)
        results["loads"][label] = {
            "size": args.size,
            "psql": not args.no_psql,
            "density": density,
            "events_per_hour": load.RECENT_EVENTS * density / (load.RECENT / timedelta(hours=1)),
            "seconds": steps,
            "rows": rows,
            "bytes": table_bytes(url),
        }
        say(f"  {rows:,} rows in {steps['total']:.1f}s")
        captured = {}
        for gate_id in gates:
            measured, captured[gate_id] = measure_gate(
                gate_id, url, pgdata, out, args.runs, results, psql=not args.no_psql
            )
            record(results, label, gate_id, measured)
        if str(density) == args.jobs_density:
            results["jobs"] = measure_jobs(url, out, args.runs, results)
        if args.profile and density == min(map(int, args.densities.split(","))):
            results["profile"] = profile_gate("full-health", url, out, label)
        write_results(results, raw)
        if not args.no_index:
            results["loads"][label]["doctor_index"] = add_doctor_index(url)
            for gate_id in gates:
                measured, _ = measure_gate(
                    gate_id,
                    url,
                    pgdata,
                    out,
                    args.index_runs,
                    results,
                    captured[gate_id],
                    psql=not args.no_psql,
                )
                record(results, f"{label} +index", gate_id, measured)
            write_results(results, raw)
        if not args.keep:
            admin.drop_database(server, database)
    results["finished"] = datetime.now(UTC).isoformat()
    write_results(results, raw)
    shutil.rmtree(out, ignore_errors=True)
    say(f"wrote {HERE / 'RESULTS.md'} and {raw}")


def record(results: dict, label: str, gate_id: str, measured: Measured) -> None:
    if label not in results["tables"]:
        results["tables"].append(label)
    results["gates"].setdefault(gate_id, {})[label] = measured.__dict__
    say(
        f"  {label:<12} {gate_id:<14} {statistics.median(measured.seconds):6.2f}s "
        f"sql {statistics.median(measured.sql_ms):9.1f}ms "
        f"rss {statistics.median(measured.peak_rss_mb):6.0f}MB "
        f"psql {report.median(measured.psql_seconds):6.2f}s {measured.statuses[-1]}"
    )


def write_results(results: dict, raw: Path) -> None:
    """The raw JSON and RESULTS.md as measured so far (a run cut short still reports)."""
    results.setdefault("finished", None)
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps(results, indent=1, default=str))
    (HERE / "RESULTS.md").write_text(report.render(results, raw.name))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine_facts(server: str) -> dict:
    with admin.writable_connection(server) as connection:
        version = connection.execute("SELECT version()").fetchone()[0]
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgres": version,
        "python": platform.python_version(),
        "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }


def table_bytes(url: str) -> int:
    with admin.writable_connection(url) as connection:
        query = "SELECT pg_total_relation_size('observability_events')"
        return connection.execute(query).fetchone()[0]


def gate_command(gate_id: str, url: str, out: Path, *extra: str) -> list[str]:
    env = gate_module(gate_id).SPEC.env
    command = [sys.executable, "-m", "rollout_gates", "run", gate_id, "--env", env]
    command += ["--db-url", url, "--as-of", load.END.isoformat(), "--output-dir", str(out)]
    for name, value in SETTINGS.get(gate_id, {}).items():
        command += ["--set", f"{name}={value}"]
    return command + ["--no-progress", *extra]


def run_watched(
    command: list[str], env: dict | None = None, output: Path | None = None
) -> tuple[float, float, int]:
    """(wall seconds, peak summed RSS of the process and its descendants in MB, exit code);
    its output goes to `output` when given, else nowhere."""
    began = time.perf_counter()
    sink = output.open("wb") if output else subprocess.DEVNULL
    process = psutil.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env or os.environ)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if output:
        sink.close()
    return time.perf_counter() - began, peak / 2**20, process.returncode


def measure_gate(
    gate_id: str,
    url: str,
    pgdata: Path,
    out: Path,
    runs: int,
    results,
    statements=None,
    psql: bool = True,
) -> tuple[Measured, list]:
    """`runs` samples of the gate; its statements are captured unless given (as returned)."""
    measured = Measured()
    runbook_sql = runbook_file(out)
    window = gate_window(gate_id)
    for _ in range(runs):
        results["load_samples"].append(os.getloadavg()[0])
        seconds, rss, code = run_watched(gate_command(gate_id, url, out))
        measured.seconds.append(seconds)
        measured.peak_rss_mb.append(rss)
        measured.statuses.append(status_of(code))
        if psql:
            measured.psql_seconds.append(run_psql(url, runbook_sql, load.END - window, load.END))
    if statements is None:
        statements, measured.capture_status = capture_statements(gate_id, url, pgdata, out)
    measured.statements = len(statements)
    for _ in range(runs):
        explain_statements(url, statements, measured)
    return measured, statements


def gate_window(gate_id: str) -> timedelta:
    spec = gate_module(gate_id).SPEC
    return config.load_params(spec.params_model, gate_id, spec.env, {}).window


def status_of(code: int) -> str:
    return {0: "PASS", 1: "FAIL", 3: "INCONCLUSIVE"}.get(code, "ERROR")


def capture_statements(gate_id: str, url: str, pgdata: Path, out: Path) -> tuple[list, str]:
    """One run with auto_explain logging each statement with its parameters; each is then
    replayed under EXPLAIN (ANALYZE, BUFFERS) instead of rerunning the gate. Every gate reads
    the database (database_facts at least), so a capture without statements is an error: the
    SQL time would read 0 ms. A run that captured nothing is said, with its output, and tried
    once more before the benchmark gives up."""
    for attempt in (1, 2):
        log = pgdata / "log"
        offset = log.stat().st_size
        env = {**os.environ, "PGOPTIONS": AUTO_EXPLAIN}
        output = out / f"capture-{gate_id}-{attempt}.log"
        _, _, code = run_watched(gate_command(gate_id, url, out), env=env, output=output)
        statements, plans = logged_statements(read_log_through_marker(log, offset, url))
        if statements:
            return statements, status_of(code)
        problem = (
            f"{gate_id}: auto_explain logged {plans} plans in {log} but no gate statement "
            f"(none whose text starts with {db.QUERY_NAME_PREFIX!r}); the run exited "
            f"{code} ({status_of(code)}), saying:\n{output.read_text()[-3000:]}"
        )
        say(f"  capture {attempt} failed: {problem}")
    raise RuntimeError(f"{problem}\nRefusing to report 0 ms of SQL.")


def read_log_through_marker(log: Path, offset: int, url: str, timeout_s: float = 60) -> str:
    """The server log from `offset` up to a marker statement run after the gate: the logging
    collector writes the file behind the backends, so a log read as soon as the gate exits
    can miss its last plans."""
    marker = f"bench capture end {time.time_ns()}"
    with psycopg.connect(url, autocommit=True, options=AUTO_EXPLAIN) as connection:
        connection.execute(f"SELECT '{marker}'")
    deadline = time.monotonic() + timeout_s
    while True:
        with log.open("rb") as stream:
            stream.seek(offset)
            text = stream.read().decode(errors="replace")
        if marker in text:
            return text
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server log {log} never showed the capture's end marker")
        time.sleep(0.2)


def logged_statements(log_text: str) -> tuple[list[tuple[str, str, list[str]]], int]:
    """(query name, text, parameters as SQL literals) of each gate statement auto_explain
    logged, told by the comment line naming its query; and how many plans were logged."""
    decoder = json.JSONDecoder()
    statements = []
    plans = 0
    for match in PLAN_LOG.finditer(log_text):
        plan, _ = decoder.raw_decode(log_text, match.end())
        plans += 1
        name = QUERY_NAME.match(plan["Query Text"])
        if name is not None:  # not the session's own SET statements or catalogue lookups
            found = PARAMETER.findall(plan.get("Query Parameters", ""))
            literals = [value for _, value in sorted(found, key=lambda pair: int(pair[0]))]
            statements.append((name[1], plan["Query Text"].strip().rstrip(";"), literals))
    return statements, plans


def literal_type(literal: str) -> str:
    """The type the gate bound a parameter with, told from the value auto_explain logged."""
    timestamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00"
    if re.fullmatch(rf"'{timestamp}'", literal):
        return "timestamptz"
    if re.fullmatch(rf"'\{{(\"{timestamp}\",?)*\}}'", literal):
        return "timestamptz[]"
    if literal.startswith("'{"):
        return "text[]"
    if re.fullmatch(r"'(\d+ days? ?)?(\d\d:\d\d:\d\d)?'", literal):
        return "interval"
    if re.fullmatch(r"'\d+'", literal):
        return "bigint"
    return "text"


def explain_statements(url: str, statements, measured: Measured) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) each statement once; adds one sample of the SQL time."""
    total = 0.0
    per_query: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET default_transaction_read_only = on")
        connection.execute("SET TIME ZONE 'UTC'")  # as the gates' sessions (db.py)
        for number, (name, text, literals) in enumerate(statements):
            types = f"({', '.join(map(literal_type, literals))})" if literals else ""
            connection.execute(f"PREPARE s{number} {types} AS {text}")
            values = f"({', '.join(literals)})" if literals else ""
            execute = f"EXECUTE s{number}{values}"
            explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}"
            plan = connection.execute(explain).fetchone()[0][0]
            milliseconds = plan["Planning Time"] + plan["Execution Time"]
            per_query[name] = per_query.get(name, 0.0) + milliseconds
            total += milliseconds
            measured.query_scans[name] = sorted(set(scan_nodes(plan["Plan"])))
            top = plan["Plan"]
            measured.query_buffers[name] = top["Shared Hit Blocks"] + top["Shared Read Blocks"]
    for name, milliseconds in per_query.items():
        measured.query_ms.setdefault(name, []).append(milliseconds)
    measured.sql_ms.append(total)


def scan_nodes(node: dict) -> list[str]:
    """How the plan reads observability_events: node types with their index names."""
    found = []
    index = node.get("Index Name", "")
    if node.get("Relation Name") == "observability_events" or index.startswith("observability"):
        found.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
    for child in node.get("Plans", []):
        found += scan_nodes(child)
    return found


def runbook_file(out: Path) -> Path:
    """queries/runbook/*.sql as one psql script, windows as psql variables."""
    path = out / "runbook.sql"
    if not path.exists():
        scripts = [
            entry.read_text() for entry in RUNBOOK_QUERIES.iterdir() if entry.name.endswith(".sql")
        ]
        text = "\n".join(scripts)
        path.write_text(re.sub(r"(?<!:):(window_start|window_end)\b", r":'\1'", text))
    return path


def run_psql(url: str, script: Path, start: datetime, end: datetime) -> float:
    """Seconds of `psql -f` over the window, output discarded, as an operator would run it."""
    command = ["psql", url, "-X", "-q", "-o", os.devnull, "-v", "ON_ERROR_STOP=1"]
    command += ["-v", f"window_start={start.isoformat()}", "-v", f"window_end={end.isoformat()}"]
    began = time.perf_counter()
    subprocess.run([*command, "-f", str(script)], check=True)
    return time.perf_counter() - began


def add_doctor_index(url: str) -> dict:
    """Build what `rollout-gates doctor` suggests for this table, as it prints it."""
    suggestions = doctor.diagnose(url).suggestions
    if not suggestions:
        raise RuntimeError("rollout-gates doctor suggested no index for the benchmark table")
    before = table_bytes(url)
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        for statement in suggestions:
            connection.execute(statement)
    seconds = time.perf_counter() - began
    say(f"  doctor's index built in {seconds:.1f}s")
    return {"statements": suggestions, "seconds": seconds, "bytes": table_bytes(url) - before}


FLOOR_SOURCE = [
    "import os\n\nimport matplotlib.pyplot as plt\nimport pandas as pd\nimport sqlalchemy as sa",
    "url = os.environ['ROLLOUT_DB_URL'].replace('postgresql://', 'postgresql+psycopg://', 1)\n"
    "engine = sa.create_engine(url)\n"
    "query = sa.text(\n"
    "    'SELECT date_trunc(\\'minute\\', created_at) AS minute, count(*) AS events'\n"
    "    ' FROM observability_events WHERE created_at >= :start AND created_at < :end'\n"
    "    ' GROUP BY 1 ORDER BY 1'\n"
    ")\n"
    "with engine.connect() as connection:\n"
    "    frame = pd.read_sql(query, connection, params={'start': START, 'end': END})\n"
    "frame",
    "figure, axes = plt.subplots(figsize=(8, 3))\n"
    "axes.plot(frame['minute'], frame['events'])\n"
    "axes.set_ylabel('events per minute')\n"
    "plt.show()",
]


def floor_notebook(out: Path, gate_id: str) -> Path:
    """The minimal notebook: pandas, SQLAlchemy, matplotlib; one query of the gate's window,
    one figure."""
    start = load.END - gate_window(gate_id)
    window = f"START, END = {start.isoformat()!r}, {load.END.isoformat()!r}"
    cells = [nbformat.v4.new_code_cell(source) for source in FLOOR_SOURCE]
    cells.insert(1, nbformat.v4.new_code_cell(window))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": runner.KERNEL_NAME,
        "display_name": runner.KERNEL_NAME,
        "language": "python",
    }
    path = out / "floor.ipynb"
    path.write_text(nbformat.writes(notebook))
    return path


def measure_floor(url: str, out: Path, pairs: int, results, gate_id: str = "full-health") -> dict:
    """`rollout-gates run GATE` against `papermill` of the minimal notebook on the same kernel:
    one unmeasured run of each, then `pairs` pairs, the order swapped every pair."""
    notebook = floor_notebook(out, gate_id)
    commands = {
        "gate": gate_command(gate_id, url, out),
        "papermill": [
            sys.executable, "-m", "papermill", str(notebook), str(out / "floor-out.ipynb"),
            "-k", runner.KERNEL_NAME, "--no-progress-bar",
        ],
    }  # fmt: skip
    env = {**os.environ, "ROLLOUT_DB_URL": url}
    for name, command in commands.items():
        _, _, code = run_watched(command, env=env)
        if name == "papermill" and code != 0:
            raise RuntimeError(f"papermill of {notebook} exited {code}")
    samples = {name: [] for name in commands}
    statuses = []
    for pair in range(pairs):
        order = list(commands) if pair % 2 == 0 else list(reversed(commands))
        for name in order:
            results["load_samples"].append(os.getloadavg()[0])
            seconds, _, code = run_watched(commands[name], env=env)
            samples[name].append(seconds)
            if name == "gate":
                statuses.append(status_of(code))
    ratios = [g / p for g, p in zip(samples["gate"], samples["papermill"], strict=True)]
    say(
        f"  {gate_id} {statistics.median(samples['gate']):.2f}s, papermill "
        f"{statistics.median(samples['papermill']):.2f}s: median ratio "
        f"{statistics.median(ratios):.2f}"
    )
    return {
        "gate": gate_id,
        "rows": FLOOR_ROWS,
        "notebook": FLOOR_SOURCE,
        "gate_seconds": samples["gate"],
        "papermill": samples["papermill"],
        "ratios": ratios,
        "statuses": statuses,
    }


def measure_jobs(url: str, out: Path, runs: int, results) -> dict:
    """`run all --env production` with --jobs 1 and --jobs 2, alternating."""
    samples = {"1": [], "2": []}
    for _ in range(runs):
        for jobs in samples:
            results["load_samples"].append(os.getloadavg()[0])
            command = [sys.executable, "-m", "rollout_gates", "run", "all", "--env", "production"]
            command += ["--db-url", url, "--as-of", load.END.isoformat()]
            command += ["--output-dir", str(out), "--jobs", jobs, "--no-progress"]
            seconds, _, _ = run_watched(command)
            samples[jobs].append(seconds)
    say(
        f"  run all: --jobs 1 {statistics.median(samples['1']):.1f}s, "
        f"--jobs 2 {statistics.median(samples['2']):.1f}s"
    )
    return samples


def profile_gate(gate_id: str, url: str, out: Path, size: str) -> dict:
    """One cProfile'd run: where the runner's time goes, and each notebook cell's duration."""
    stats_path = out / "runner.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(stats_path)]
    command += gate_command(gate_id, url, out)[1:]
    seconds, _, _ = run_watched(command)
    notebook = max(out.glob(f"*/{gate_id}/*/{gate_id}.ipynb"), key=lambda p: p.parent.name)
    executed = json.loads(notebook.read_text())
    code = [
        cell
        for cell in executed["cells"]
        if cell["metadata"].get("papermill", {}).get("start_time")
    ]
    cells = [
        {
            "source": "".join(cell["source"]).splitlines()[0][:70] if cell["source"] else "",
            "seconds": cell["metadata"]["papermill"].get("duration"),
        }
        for cell in code
        if cell["cell_type"] == "code"
    ]
    run = executed["metadata"]["papermill"]
    return {
        "gate": gate_id,
        "size": size,
        "seconds": seconds,
        "cells": cells,
        "kernel_start": elapsed(run["start_time"], code[0]["metadata"]["papermill"]["start_time"]),
        "kernel_stop": elapsed(code[-1]["metadata"]["papermill"]["end_time"], run["end_time"]),
        "runner": report.top_functions(stats_path),
    }


def elapsed(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


if __name__ == "__main__":
    main()

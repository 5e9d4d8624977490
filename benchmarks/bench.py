"""`make bench`: gate cost against table size, side by side with `psql -f` of the runbook queries.

For each size: load the table (load.py), then per gate, RUNS times each: `rollout-gates run` end
to end (wall time, peak RSS of the runner and its kernel); `psql -f` of the runbook's queries
over the gate's window; EXPLAIN (ANALYZE, BUFFERS) of each of the gate's statements, captured
with its parameters by auto_explain in one extra run. Then `run all --jobs 1` against `--jobs 2`.
Writes a JSON file of the raw numbers and RESULTS.md. Runs on its own embedded server
(ROLLOUT_BENCH_PGDATA), never the demo's or the tests'.
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
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import load
import psutil
import psycopg
import report

from rollout_gates.config import params as config
from rollout_gates.core import layout, timefmt
from rollout_gates.gates import gate_ids, gate_module
from rollout_gates.ops import admin, embedded

SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
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


@dataclass
class Measured:
    """One gate at one size: RUNS samples of each measure, and the last plans seen."""

    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    query_ms: dict[str, list[float]] = field(default_factory=dict)
    query_scans: dict[str, list[str]] = field(default_factory=dict)
    query_buffers: dict[str, int] = field(default_factory=dict)
    psql_seconds: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m,10m", help="comma-separated: 100k, 1m, 10m")
    parser.add_argument("--runs", type=int, default=5, help="samples of each measure")
    parser.add_argument("--gates", default="", help="comma-separated gate ids (default: all)")
    parser.add_argument("--jobs-size", default="1m", help="table size of the --jobs comparison")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    pgdata = Path(
        os.environ.get("ROLLOUT_BENCH_PGDATA", "~/.cache/rollout-gates/bench/pgdata")
    ).expanduser()
    server = admin.with_database(embedded.start(pgdata)["production"], "postgres")
    gates = args.gates.split(",") if args.gates else gate_ids()
    out = Path(tempfile.mkdtemp(prefix="rollout-gates-bench-"))
    results = {
        "started": datetime.now(UTC).isoformat(),
        "machine": machine_facts(server),
        "runs": args.runs,
        "loads": {},
        "gates": {},
        "jobs": {},
        "load_samples": [],
    }
    for size in args.sizes.split(","):
        say(f"loading {size} ({SIZES[size]:,} events) ...")
        url, steps, rows = load.load_table(server, f"bench_{size}", SIZES[size])
        results["loads"][size] = {"seconds": steps, "rows": rows, "bytes": table_bytes(url)}
        say(f"  {rows:,} rows in {steps['total']:.1f}s")
        for gate_id in gates:
            measured = measure_gate(gate_id, url, pgdata, out, args.runs, results)
            results["gates"].setdefault(gate_id, {})[size] = measured.__dict__
            say(
                f"  {gate_id:<14} {statistics.median(measured.seconds):6.2f}s "
                f"sql {statistics.median(measured.sql_ms):8.1f}ms "
                f"rss {statistics.median(measured.peak_rss_mb):6.0f}MB "
                f"psql {statistics.median(measured.psql_seconds):5.2f}s {measured.statuses[-1]}"
            )
        if size == args.jobs_size:
            results["jobs"] = measure_jobs(url, out, args.runs, results)
            results["profile"] = profile_gate("full-health", url, out, size)
        if not args.keep and size != args.sizes.split(",")[-1]:
            admin.drop_database(server, f"bench_{size}")
    results["finished"] = datetime.now(UTC).isoformat()
    stamp = layout.stamp(datetime.now(UTC))
    raw = HERE / "results" / f"{stamp}.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps(results, indent=1, default=str))
    (HERE / "RESULTS.md").write_text(report.render(results, raw.name))
    shutil.rmtree(out, ignore_errors=True)
    say(f"wrote {HERE / 'RESULTS.md'} and {raw}")


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


def run_watched(command: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak summed RSS of the process and its descendants in MB, exit code)."""
    began = time.perf_counter()
    process = psutil.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or os.environ
    )
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    return time.perf_counter() - began, peak / 2**20, process.returncode


def measure_gate(gate_id: str, url: str, pgdata: Path, out: Path, runs: int, results) -> Measured:
    measured = Measured()
    runbook_sql = runbook_file(out)
    window = config.load_params(
        gate_module(gate_id).SPEC.params_model, gate_id, gate_module(gate_id).SPEC.env, {}
    ).window
    for _ in range(runs):
        results["load_samples"].append(os.getloadavg()[0])
        seconds, rss, code = run_watched(gate_command(gate_id, url, out))
        measured.seconds.append(seconds)
        measured.peak_rss_mb.append(rss)
        measured.statuses.append({0: "PASS", 1: "FAIL", 3: "INCONCLUSIVE"}.get(code, "ERROR"))
        measured.psql_seconds.append(run_psql(url, runbook_sql, load.END - window, load.END))
    # One run with auto_explain logs each statement with its parameters; each is then
    # replayed `runs` times under EXPLAIN (ANALYZE, BUFFERS) instead of rerunning the gate.
    log = pgdata / "log"
    offset = log.stat().st_size
    run_watched(gate_command(gate_id, url, out), env={**os.environ, "PGOPTIONS": AUTO_EXPLAIN})
    statements = logged_statements(log.read_text(errors="replace")[offset:])
    for _ in range(runs):
        explain_statements(url, statements, measured)
    return measured


def query_names() -> dict[str, str]:
    """First line of each queries/**/*.sql -> its name (runbook/quick_health_check)."""
    root = resources.files("rollout_gates.telemetry").joinpath("queries")
    names = {}
    for folder, prefix in ((root, ""), (root.joinpath("runbook"), "runbook/")):
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                names[first_line(entry.read_text())] = prefix + entry.name[:-4]
    return names


def first_line(sql: str) -> str:
    """A statement's first line with its parameters blanked: `:name` as written, `$1` as sent."""
    return re.sub(r"(?<!:):[a-z_]+|\$[0-9]+", "?", sql.lstrip().splitlines()[0])


def logged_statements(log_text: str) -> list[tuple[str, str, str]]:
    """(query name, text, parameters as SQL literals) of each gate statement auto_explain logged."""
    names = query_names()
    decoder = json.JSONDecoder()
    statements = []
    for match in PLAN_LOG.finditer(log_text):
        plan, _ = decoder.raw_decode(log_text, match.end())
        name = names.get(first_line(plan["Query Text"]))
        if name is not None:  # not the session's own SET statements or catalogue lookups
            found = PARAMETER.findall(plan.get("Query Parameters", ""))
            literals = [value for _, value in sorted(found, key=lambda pair: int(pair[0]))]
            statements.append((name, plan["Query Text"].strip().rstrip(";"), literals))
    return statements


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
    if node.get("Relation Name") == "observability_events" or "Index Name" in node:
        found.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
    for child in node.get("Plans", []):
        found += scan_nodes(child)
    return found


def runbook_file(out: Path) -> Path:
    """queries/runbook/*.sql as one psql script, windows as psql variables."""
    path = out / "runbook.sql"
    if not path.exists():
        folder = resources.files("rollout_gates.telemetry").joinpath("queries", "runbook")
        scripts = [entry.read_text() for entry in folder.iterdir() if entry.name.endswith(".sql")]
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

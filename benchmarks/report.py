"""RESULTS.md from the raw numbers bench.py collected: medians with min-max, targets first.

bench.py writes it after every table; `python report.py results/STAMP.json` writes it again
from a run's raw numbers (a run stopped early included).
"""

import io
import json
import pstats
import re
import statistics
import sys
from pathlib import Path

import load

PROFILED = r"rollout_gates/|papermill/execute|nbconvert/exporters/(html|templateexporter)"


def top_functions(stats_path: Path, limit: int = 25) -> str:
    """The runner's most expensive calls of its own, papermill's and nbconvert's, cumulative."""
    stream = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=stream)
    stats.sort_stats("cumulative").print_stats(PROFILED, limit)
    lines = stream.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    shorten = re.compile(r"\S*/(site-packages|lib)/")
    return "\n".join(shorten.sub("", line)[:150] for line in lines[start:] if line.strip())


def spread(values: list[float], unit: str = "", digits: int = 2) -> str:
    """median (min-max)."""
    if not values:
        return "-"
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(met: bool) -> str:
    return "met" if met else "**MISSED**"


STARTUP_TARGET = 1.3  # rollout-gates run full-health / papermill of the minimal notebook
SQL_TARGET_MS = 2000  # every gate's SQL at 100x today's events per hour
SQL_TARGET_DENSITY = "100x"


def target_rows(results: dict) -> list[str]:
    gates, loads = results["gates"], results["loads"]
    jobs, floor = results["jobs"], results["floor"]
    rows = ["| target | measured | result |", "|---|---|---|"]
    if floor:
        ratio = median(floor["ratios"])
        rows.append(
            f"| start-up: `rollout-gates run {floor['gate']}` <= {STARTUP_TARGET} x papermill of "
            "a minimal notebook, same kernel (median of pairs) | "
            f"{floor['gate']} {spread(floor['gate_seconds'], ' s')}, papermill "
            f"{spread(floor['papermill'], ' s')}; ratio of each pair: median {ratio:.2f} "
            f"({min(floor['ratios']):.2f}-{max(floor['ratios']):.2f}), ratio of the medians "
            f"{median(floor['gate_seconds']) / median(floor['papermill']):.2f} | "
            f"{verdict(ratio <= STARTUP_TARGET)} |"
        )
    for label, what in (
        (SQL_TARGET_DENSITY, "primary key and created_at index only"),
        (f"{SQL_TARGET_DENSITY} +index", "with the index `rollout-gates doctor` suggests"),
    ):
        measured = {g: median(t[label]["sql_ms"]) for g, t in gates.items() if label in t}
        if not measured:
            rows.append(f"| every gate's SQL <= 2 s at {label} ({what}) | not measured | - |")
            continue
        over = [g for g, ms in measured.items() if ms > SQL_TARGET_MS]
        worst = max(measured, key=measured.get)
        rows.append(
            f"| every gate's SQL <= 2 s at {SQL_TARGET_DENSITY} ({what}) | worst {worst} "
            f"{measured[worst]:,.0f} ms; over 2 s: {', '.join(over) or 'none'} "
            f"({len(measured)} gates measured) | {verdict(not over)} |"
        )
    if jobs:
        ratio = median(jobs["2"]) / median(jobs["1"])
        rows.append(
            "| run all --jobs 2 <= 0.6 x --jobs 1 | "
            f"--jobs 1 {spread(jobs['1'], ' s', 1)}, --jobs 2 {spread(jobs['2'], ' s', 1)}: "
            f"ratio {ratio:.2f} | {verdict(ratio <= 0.6)} |"
        )
    for label, m in loads.items():
        if m["size"] == "10m":
            steps = m["seconds"]
            rows.append(
                f"| loading 10M simulated events <= 3 min ({label}) | {steps['total']:.0f} s "
                f"({m['rows']:,} rows: insert {steps['insert']:.0f} s, order "
                f"{steps['order']:.0f} s, indexes "
                f"{steps['indexes']:.0f} s, ANALYZE {steps['analyze']:.0f} s) | "
                f"{verdict(steps['total'] <= 180)} |"
            )
    return rows


def table_order(results: dict) -> list[str]:
    """The tables measured, by density, each without the doctor's index before with it."""
    return sorted(results["tables"], key=lambda t: (int(t.split("x")[0]), "+index" in t))


def density_rows(results: dict, key: str, unit: str, digits: int) -> list[str]:
    """One row per gate, one column per table measured: the median (min-max) of `key`."""
    tables = table_order(results)
    rows = [
        "| gate | " + " | ".join(tables) + " |",
        "|---|" + "---|" * len(tables),
    ]
    for gate_id, by_table in results["gates"].items():
        cells = [spread(by_table.get(t, {}).get(key, []), unit, digits) for t in tables]
        rows.append(f"| {gate_id} | {' | '.join(cells)} |")
    return rows


def gate_rows(results: dict) -> list[str]:
    rows = [
        "| gate | table | end to end s | SQL ms | statements | peak RSS MB | psql -f s "
        "| end to end / psql -f | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for gate_id, by_table in results["gates"].items():
        for table, m in by_table.items():
            psql = m["psql_seconds"]
            ratio = f"{median(m['seconds']) / median(psql):.1f}" if psql else "-"
            rows.append(
                f"| {gate_id} | {table} | {spread(m['seconds'])} | "
                f"{spread(m['sql_ms'], '', 1)} | {m['statements']} | "
                f"{spread(m['peak_rss_mb'], '', 0)} | {spread(psql)} | "
                f"{ratio} | {', '.join(sorted(set(m['statuses'])))} |"
            )
    return rows


def query_rows(results: dict) -> list[str]:
    tables = table_order(results)
    last = max(results["tables"], key=lambda t: (int(t.split("x")[0]), "+index" not in t))
    rows = [
        "| gate | query | " + " | ".join(f"ms at {t}" for t in tables) + " | buffers at "
        f"{last} | how observability_events is read at {last} |",
        "|---|---|" + "---|" * len(tables) + "---|---|",
    ]
    for gate_id, by_table in results["gates"].items():
        final = by_table.get(last) or next(reversed(by_table.values()))
        names = sorted({n for m in by_table.values() for n in m["query_ms"]})
        for name in names:
            cells = [spread(by_table.get(t, {}).get("query_ms", {}).get(name, []), "", 1)
                     for t in tables]  # fmt: skip
            rows.append(
                f"| {gate_id} | {name} | {' | '.join(cells)} | "
                f"{final['query_buffers'].get(name, '-')} | "
                f"{', '.join(final['query_scans'].get(name, []))} |"
            )
    return rows


def load_rows(results: dict) -> list[str]:
    rows = [
        "| table | rows | events/h in the windows | load s | insert s | order s | indexes s "
        "| ANALYZE s | table + indexes | doctor's index: build s, size |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, m in results["loads"].items():
        extra = m.get("doctor_index")
        built = f"{extra['seconds']:.1f} s, {extra['bytes'] / 2**20:,.0f} MB" if extra else "-"
        rows.append(
            f"| {m['size']} {label} | {m['rows']:,} | {m['events_per_hour']:,.0f} | "
            f"{m['seconds']['total']:.1f} | {m['seconds']['insert']:.1f} | "
            f"{m['seconds']['order']:.1f} | {m['seconds']['indexes']:.1f} | "
            f"{m['seconds']['analyze']:.1f} | "
            f"{m['bytes'] / 2**20:,.0f} MB | {built} |"
        )
    return rows


def render(results: dict, raw_name: str) -> str:
    machine = results["machine"]
    samples = results["load_samples"] or [float("nan")]
    floor = results["floor"]
    finished = results.get("finished")
    parts = [
        "# Benchmark results",
        f"Generated by `make bench` (benchmarks/bench.py {results.get('command', '')}) from "
        f"{results['started']} to {finished or '(not finished: written as it went)'}; raw "
        f"numbers in `results/{raw_name}`. Every cell is the median with (min-max) of "
        f"{results['runs']} runs (on the tables without the doctor's index) or "
        f"{results['index_runs']} runs (`+index`).",
        "## Machine",
        f"- {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB memory, "
        f"Python {machine['python']}",
        f"- {machine['postgres']} (the embedded server; production runs Postgres 15)",
        f"- before the run: `{machine['uptime_before']}`",
        f"- 1-minute load average sampled before each measured run: median "
        f"{median(samples):.2f}, min {min(samples):.2f}, max {max(samples):.2f} (other "
        "engineers' test suites share these 2 cores: a load above 2 means runs queued for CPU)",
        "## Targets",
        "\n".join(target_rows(results)),
    ]
    if not finished:
        parts.append(
            "**This run was stopped before it finished**; everything below was measured in it, "
            f"tables measured: {', '.join(table_order(results)) or 'none'}."
        )
    if floor:
        parts += [
            "## Start-up at the floor",
            f"`rollout-gates run {floor['gate']}` (papermill, HTML, verdict) against `python -m "
            "papermill` of a minimal notebook on the same `rollout-gates` kernel: it imports "
            "pandas, SQLAlchemy and matplotlib, runs one query over the gate's window and makes "
            f"one figure. On a {floor['rows']:,}-row table at today's density; one unmeasured "
            f"run of each first, then {len(floor['ratios'])} pairs, the order swapped every pair. "
            f"Gate verdicts: {', '.join(sorted(set(floor['statuses'])))}.",
            "\n".join(
                [
                    "| pair | gate s | papermill s | ratio |",
                    "|---|---|---|---|",
                    *(
                        f"| {i + 1} | {g:.2f} | {p:.2f} | {r:.2f} |"
                        for i, (g, p, r) in enumerate(
                            zip(
                                floor["gate_seconds"],
                                floor["papermill"],
                                floor["ratios"],
                                strict=True,
                            )
                        )
                    ),  # fmt: skip
                ]
            ),
        ]
    if results["tables"]:
        parts += [
            "## The data",
            f"30 days of events before {load.END:%Y-%m-%d %H:%M} UTC (every gate runs with that "
            "as-of), generated server-side by `generate.sql` (INSERT ... SELECT over "
            "generate_series): 88% `capacity.rpc.conflict` noise, bookings with their "
            "coordinator sequence (start, lock, permit, outcome: 99% confirmed, 0.5% manual "
            "review, 0.3% retry, 0.2% error), five state transitions and the legacy job's mirror "
            f"event; legacy-planner bookings before {load.V3_SINCE:%Y-%m-%d}. The last 15 days "
            "(cleanup's 14-day lookback and every other window) hold DENSITY x "
            f"{load.RECENT_EVENTS:,} rows: 1x is today's platform, about 139 events an hour, "
            "100x about 14,000 an hour (a 48h window about 670,000 events); the first 15 days "
            "hold the rest of the table, which is then rewritten in created_at order (CLUSTER), "
            "as production's append-only log lies on disk. Indexes: the live schema's, the "
            "primary key and created_at only; `+index` is the same table after building the "
            "index that `rollout-gates doctor` suggests for it, as it prints it.",
            "\n".join(load_rows(results)),
            "## SQL ms per gate against density",
            "Planning plus execution time from EXPLAIN (ANALYZE, BUFFERS), summed over the "
            "gate's statements; one extra run with auto_explain captures each statement with its "
            "parameters, which are then replayed (PREPARE, EXPLAIN EXECUTE) once per sample. The "
            "`+index` columns replay the same statements after the doctor's index is built.",
            "\n".join(density_rows(results, "sql_ms", "", 1)),
            "## End to end s per gate against density",
            "`rollout-gates run GATE` as a subprocess, wall time (papermill, HTML, verdict).",
            "\n".join(density_rows(results, "seconds", "", 2)),
            "## Per gate",
            "Peak RSS: the runner plus its kernel, summed, polled every 100 ms. psql -f: the "
            "runbook queries (queries/runbook/*.sql) over the gate's window, as an operator "
            "would run the runbook's SQL file"
            + ("" if results.get("psql", True) else " (not measured in this run: --no-psql)")
            + ". Statements: how many the capture found.",
            "\n".join(gate_rows(results)),
            "## Per query",
            "\n".join(query_rows(results)),
        ]
    profile = results.get("profile")
    if profile:
        parts += [
            f"## Profile: {profile['gate']} at {profile['size']}",
            f"One run under cProfile took {profile['seconds']:.1f} s. Notebook cells, as papermill "
            "timed them in the kernel:",
            "\n".join(
                [
                    "| cell (first line) | s |",
                    "|---|---|",
                    f"| (kernel start, to the first cell) | {profile['kernel_start']:.2f} |",
                    *(f"| `{c['source']}` | {c['seconds'] or 0:.2f} |" for c in profile["cells"]),
                    f"| (last cell to papermill end) | {profile['kernel_stop']:.2f} |",
                ]
            ),
            "Runner process (cProfile, cumulative):",
            "```",
            profile["runner"],
            "```",
        ]
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    raw = Path(sys.argv[1])
    target = Path(__file__).with_name("RESULTS.md")
    target.write_text(render(json.loads(raw.read_text()), raw.name))
    print(f"wrote {target} from {raw}")

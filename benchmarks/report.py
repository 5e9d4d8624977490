"""RESULTS.md from the raw numbers bench.py collected: medians with min-max, targets first."""

import io
import pstats
import re
import statistics
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


def target_rows(results: dict) -> list[str]:
    gates, loads, jobs = results["gates"], results["loads"], results["jobs"]
    rows = ["| target | measured | result |", "|---|---|---|"]
    if all(size in loads for size in ("100k", "10m")):
        ratios = {
            gate_id: median(by_size["10m"]["seconds"]) / median(by_size["100k"]["seconds"])
            for gate_id, by_size in gates.items()
        }
        worst = max(ratios, key=ratios.get)
        rows.append(
            "| a gate at 10M events <= 1.5 x its time at 100k (same events per window hour) | "
            f"end-to-end ratio 10M/100k: worst {worst} {ratios[worst]:.2f}, "
            f"all: {', '.join(f'{g} {r:.2f}' for g, r in ratios.items())} | "
            f"{verdict(ratios[worst] <= 1.5)} |"
        )
        memory = {
            gate_id: median(by_size["10m"]["peak_rss_mb"]) / median(by_size["100k"]["peak_rss_mb"])
            for gate_id, by_size in gates.items()
        }
        worst = max(memory, key=lambda g: abs(memory[g] - 1))
        rows.append(
            "| peak memory of runner + kernel at 10M within 10% of 100k | "
            f"ratio 10M/100k of the median peak RSS: worst {worst} {memory[worst]:.3f}, "
            f"range {min(memory.values()):.3f}-{max(memory.values()):.3f} | "
            f"{verdict(abs(memory[worst] - 1) <= 0.10)} |"
        )
    health = gates.get("full-health", {}).get("1m")
    if health:
        rows.append(
            "| full-health end to end at 1M: median <= 6 s | "
            f"{spread(health['seconds'], ' s')} | {verdict(median(health['seconds']) <= 6)} |"
        )
        rows.append(
            "| full-health SQL at 1M <= 0.5 s | "
            f"{spread(health['sql_ms'], ' ms', 1)} (its statements' planning + execution) | "
            f"{verdict(median(health['sql_ms']) <= 500)} |"
        )
    if jobs:
        ratio = median(jobs["2"]) / median(jobs["1"])
        rows.append(
            "| run all --jobs 2 <= 0.6 x --jobs 1 | "
            f"--jobs 1 {spread(jobs['1'], ' s', 1)}, --jobs 2 {spread(jobs['2'], ' s', 1)}: "
            f"ratio {ratio:.2f} | {verdict(ratio <= 0.6)} |"
        )
    if "10m" in loads:
        steps = loads["10m"]["seconds"]
        rows.append(
            f"| loading 10M simulated events <= 3 min | {steps['total']:.0f} s "
            f"({loads['10m']['rows']:,} rows: insert {steps['insert']:.0f} s, indexes "
            f"{steps['indexes']:.0f} s, ANALYZE {steps['analyze']:.0f} s) | "
            f"{verdict(steps['total'] <= 180)} |"
        )
    return rows


def gate_rows(results: dict) -> list[str]:
    rows = [
        "| gate | size | end to end s | SQL ms | peak RSS MB | psql -f s | end to end / psql -f "
        "| verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for gate_id, by_size in results["gates"].items():
        for size, m in by_size.items():
            ratio = median(m["seconds"]) / median(m["psql_seconds"])
            rows.append(
                f"| {gate_id} | {size} | {spread(m['seconds'])} | {spread(m['sql_ms'], '', 1)} | "
                f"{spread(m['peak_rss_mb'], '', 0)} | {spread(m['psql_seconds'])} | "
                f"{ratio:.1f} | {m['statuses'][-1]} |"
            )
    return rows


def query_rows(results: dict) -> list[str]:
    sizes = list(results["loads"])
    rows = [
        "| gate | query | " + " | ".join(f"ms at {s}" for s in sizes) + " | buffers at "
        f"{sizes[-1]} | how observability_events is read at {sizes[-1]} |",
        "|---|---|" + "---|" * len(sizes) + "---|---|",
    ]
    for gate_id, by_size in results["gates"].items():
        last = by_size[sizes[-1]]
        for name in sorted(last["query_ms"]):
            cells = [spread(by_size[s]["query_ms"].get(name, []), "", 1) for s in sizes]
            rows.append(
                f"| {gate_id} | {name} | {' | '.join(cells)} | {last['query_buffers'][name]} | "
                f"{', '.join(last['query_scans'][name])} |"
            )
    return rows


def render(results: dict, raw_name: str) -> str:
    machine = results["machine"]
    samples = results["load_samples"]
    loads = results["loads"]
    parts = [
        "# Benchmark results",
        f"Generated by `make bench` (benchmarks/bench.py) from {results['started']} to "
        f"{results['finished']}; raw numbers in `results/{raw_name}`. Every cell is the median "
        f"of {results['runs']} runs with (min-max).",
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
        "## The data",
        f"30 days of events before {load.END:%Y-%m-%d %H:%M} UTC (every gate runs with that "
        "as-of), generated server-side by `generate.sql` (INSERT ... SELECT over "
        "generate_series): 88% `capacity.rpc.conflict` noise, bookings with their coordinator "
        "sequence (start, lock, permit, outcome: 99% confirmed, 0.5% manual review, 0.3% retry, "
        "0.2% error), five state transitions and the legacy job's mirror event; legacy-planner "
        f"bookings before {load.V3_SINCE:%Y-%m-%d}. The last 15 days (cleanup's 14-day lookback "
        f"and every other window) always hold the same {load.RECENT_EVENTS:,} rows, about 139 an "
        "hour, today's platform volume; the first 15 days hold the rest. So every gate's window "
        "has the same events per hour at every size (its verdict is the same too) and only the "
        "table grows. Indexes: the live schema's, the primary key and created_at only.",
        "\n".join(
            [
                "| size | rows | load s | insert s | indexes s | ANALYZE s | table + indexes |",
                "|---|---|---|---|---|---|---|",
                *(
                    f"| {size} | {m['rows']:,} | {m['seconds']['total']:.1f} | "
                    f"{m['seconds']['insert']:.1f} | {m['seconds']['indexes']:.1f} | "
                    f"{m['seconds']['analyze']:.1f} | {m['bytes'] / 2**20:,.0f} MB |"
                    for size, m in loads.items()
                ),
            ]
        ),
        "## Per gate",
        "End to end: `rollout-gates run GATE` as a subprocess, wall time (papermill, HTML, "
        "verdict). SQL: planning plus execution time from EXPLAIN (ANALYZE, BUFFERS), summed over "
        "the gate's statements; one extra run with auto_explain captures each statement with "
        "its parameters, which are then replayed (PREPARE, EXPLAIN EXECUTE) once per sample. "
        "Peak RSS: the runner plus its "
        "kernel, summed, polled every 100 ms. psql -f: the 12 runbook queries "
        "(queries/runbook/*.sql) over the gate's window, as an operator would run the runbook's "
        "SQL file.",
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

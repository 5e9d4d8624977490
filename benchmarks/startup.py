"""Start-up before and after: `rollout-gates run GATE` of a base revision against this tree.

With --floor instead: `rollout-gates run GATE` against papermill of a minimal notebook on the
same kernel (pandas, SQLAlchemy, matplotlib; one query, one figure), alternating, RUNS pairs:
the comparison `make bench` makes first (bench.measure_floor), on its own.

The base revision's lib/, notebooks/ and params/ are exported with `git archive` and put first
on PYTHONPATH (the kernel inherits it), so both run with the same interpreter and packages, on
the same database, alternating. Also times `import nbformat` with and without rfc3987_syntax.
Usage: python startup.py DB_URL [--base main | --floor] [--gate full-health] [--runs 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import bench
import load
import report

HERE = Path(__file__).parent
IMPORT_NBFORMAT = "import sys, time; {}t = time.perf_counter(); import nbformat; " + (
    "print(time.perf_counter() - t)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_url")
    parser.add_argument("--base", default="main")
    parser.add_argument("--gate", default="full-health")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--floor", action="store_true", help="against papermill, not --base")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="rollout-gates-startup-"))
    if args.floor:
        floor = bench.measure_floor(args.db_url, base, args.runs, {"load_samples": []}, args.gate)
        print(f"`rollout-gates run {args.gate}` against papermill of a minimal notebook:")
        print(f"- {args.gate}: {report.spread(floor['gate_seconds'], ' s')}")
        print(f"- papermill: {report.spread(floor['papermill'], ' s')}")
        print(f"- ratio of each pair: {report.spread(floor['ratios'])}")
        return
    archive = subprocess.run(
        ["git", "archive", args.base, "lib", "notebooks", "params"],
        cwd=HERE.parent,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    out = base / "outputs"
    trees = {
        args.base: {**os.environ, "PYTHONPATH": str(base / "lib")},
        "this tree": dict(os.environ),
    }
    seconds = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, env in trees.items():
            command = bench.gate_command(args.gate, args.db_url, out)
            seconds[name].append(bench.run_watched(command, env=env)[0])
    print(f"`rollout-gates run {args.gate}` end to end, as of {load.END:%Y-%m-%d %H:%M}:")
    for name, values in seconds.items():
        print(f"- {name}: {report.spread(values, ' s')}")
    imports = {"with rfc3987_syntax": "", "without": "sys.modules['rfc3987_syntax'] = None; "}
    for name, prefix in imports.items():
        command = [sys.executable, "-c", IMPORT_NBFORMAT.format(prefix)]
        values = [float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
                  for _ in range(args.runs)]  # fmt: skip
        print(f"- import nbformat {name}: median {statistics.median(values):.2f} s")


if __name__ == "__main__":
    main()

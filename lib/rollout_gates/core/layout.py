"""Where things are: the checkout's folders and every evidence path, in this module only.

Under an evidence root (outputs/ by default):

    <env>/<gate>/<stamp>/            a gate run: verdict.json, <gate>.ipynb and .html,
                                     tables/*.csv, figures/*.png
    <env>/replays/<gate>/<stamp>/    a replay: replay.json, tables/, figures/
    <env>/incidents/<stamp>/         an incident draft and its bundle
    <env>/traces/<stamp>/            a booking trace (booking-trace.ipynb and .html)
    <env>/flags.jsonl                the flag ledger
    <env>/.locks/<gate>.lock         one run at a time per gate
    <env>/verification.md            the verification report (or .html)
    <env>/<job>.log                  a scheduled job's output
    demo/<stamp>/, demo/latest       the demo's evidence roots (each one as above)

A stamp is the UTC time a run started, 20261129T030000Z; a second run in the same
second gets a suffix (20261129T030000Z-2). The package runs from a checkout (an
editable install), so the project's folders are found from this file.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

from .errors import RolloutGatesError

PROJECT_ROOT = Path(__file__).resolve().parents[3]
OUTPUTS = "outputs"  # the default evidence root, in the project
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
VERDICT = "verdict.json"
TABLES = "tables"
FIGURES = "figures"
REPLAYS = "replays"
INCIDENTS = "incidents"
TRACES = "traces"
LOCKS = ".locks"  # beside the gates' folders, so that a gate folder holds only runs
LEDGER = "flags.jsonl"
DEMO = "demo"
LATEST = "latest"


def params_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_PARAMS_DIR", PROJECT_ROOT / "params"))


def notebooks_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_NOTEBOOKS_DIR", PROJECT_ROOT / "notebooks"))


def templates_dir() -> Path:
    """nbconvert templates shipped with the package (the evidence HTML's)."""
    return Path(__file__).parents[1] / "report" / "templates"


def outputs_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_OUTPUT_DIR", PROJECT_ROOT / OUTPUTS))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(name: str) -> datetime | None:
    """20261129T030000Z or 20261129T030000Z-2 -> its time; None for anything else."""
    try:
        return datetime.strptime(name.split("-")[0], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def gate_dir(root: Path, env: str, gate: str) -> Path:
    """The folder holding a gate's runs."""
    return root / env / gate


def replay_dir(root: Path, env: str, gate: str) -> Path:
    """The folder holding a gate's replays."""
    return root / env / REPLAYS / gate


def run_dirs(root: Path, env: str) -> list[Path]:
    """Every folder that may be a run (a gate's or a replay's), sorted; not checked further."""
    env_root = root / env
    return sorted([*env_root.glob("*/*"), *env_root.glob(f"{REPLAYS}/*/*")])


def root_of_run(run_dir: Path) -> Path:
    """The evidence root a gate run's folder is in (<root>/<env>/<gate>/<stamp>)."""
    return run_dir.parents[2]


def make_run_dir(parent: Path) -> Path:
    """A new folder under `parent` named by the UTC time; one in the same second gets a suffix."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        name = stamp(datetime.now(UTC))
        for attempt in range(1, 1000):
            candidate = parent / (name if attempt == 1 else f"{name}-{attempt}")
            try:
                candidate.mkdir(mode=0o755)
                return candidate
            except FileExistsError:
                continue
    except OSError as exc:
        raise RolloutGatesError(
            f"cannot write evidence under {parent}: {exc.strerror}; "
            "choose a writable folder with --output-dir"
        ) from None
    raise RolloutGatesError(f"too many runs in one second under {parent}")


def verdict_path(run_dir: Path) -> Path:
    return run_dir / VERDICT


def verdict_paths(root: Path, env: str, gate: str) -> list[Path]:
    """The verdicts of a gate's runs, oldest run first."""
    return sorted(gate_dir(root, env, gate).glob(f"*/{VERDICT}"))


def tables_dir(run_dir: Path) -> Path:
    return run_dir / TABLES


def figures_dir(run_dir: Path) -> Path:
    return run_dir / FIGURES


def trace_dir(root: Path, env: str) -> Path:
    """The folder holding booking traces (rollout-gates trace)."""
    return root / env / TRACES


def incident_dir(root: Path, env: str, as_of: datetime) -> Path:
    return root / env / INCIDENTS / stamp(as_of)


def ledger_path(root: Path, env: str) -> Path:
    return root / env / LEDGER


def lock_path(root: Path, env: str, gate: str) -> Path:
    return root / env / LOCKS / f"{gate}.lock"


def report_path(root: Path, env: str, fmt: str = "md") -> Path:
    return root / env / ("verification.md" if fmt == "md" else "verification.html")


def job_log(root: Path, env: str, job: str) -> Path:
    return root / env / f"{job}.log"


def demo_dir(root: Path) -> Path:
    """The demo's evidence roots, one per demo run, and `latest` pointing at the newest."""
    return root / DEMO


def latest_demo_root(scenario: str) -> Path:
    """The newest demo's evidence root for a scenario, under outputs/."""
    return demo_dir(outputs_dir()) / LATEST / scenario

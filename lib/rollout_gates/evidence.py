"""Recorded verdicts under the evidence root: outputs/<env>/<gate>/<UTC time>/verdict.json."""

import re
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from .errors import RolloutGatesError
from .verdict import GateResult, read_verdict


def verdict_paths(root: Path, env: str, gate: str) -> list[Path]:
    return sorted((root / env / gate).glob("*/verdict.json"))


def recorded_verdicts(root: Path, env: str, gate: str) -> list[GateResult]:
    """Every readable verdict of a gate, oldest as-of first."""
    results = []
    for path in verdict_paths(root, env, gate):
        try:
            results.append(read_verdict(path))
        except (OSError, ValueError, ValidationError) as exc:
            # Verdicts are written by rename, so this is damage, not a run in progress.
            raise RolloutGatesError(
                f"unreadable recorded verdict {path}: {type(exc).__name__}; move it aside to go on"
            ) from None
    return sorted(results, key=lambda r: (r.as_of is None, r.as_of or datetime.min))


def latest_verdict(
    root: Path, env: str, gate: str, at_or_before: datetime | None = None
) -> GateResult | None:
    """The verdict with the latest as-of (at or before a time, if given), or None."""
    candidates = [
        r
        for r in recorded_verdicts(root, env, gate)
        if r.as_of is not None and (at_or_before is None or r.as_of <= at_or_before)
    ]
    return candidates[-1] if candidates else None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def recorded_traceback(run_dir: Path, gate: str) -> str:
    """The traceback the executed notebook recorded, without colours (for --verbose)."""
    path = run_dir / f"{gate}.ipynb"
    import nbformat  # here, not at the top: the CLI imports this module on every run

    notebook = nbformat.read(path, as_version=4) if path.exists() else nbformat.v4.new_notebook()
    tracebacks = [
        "\n".join(output.get("traceback", []))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    if not tracebacks:
        return f"no traceback in {path}: the failure was outside the notebook's cells"
    return _ANSI.sub("", "\n".join(tracebacks))

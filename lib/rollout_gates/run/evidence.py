"""Recorded verdicts: the one writer of a run's verdict.json, and the readers of them all.

The kernel does not write the verdict: `hand_over` leaves the result in the executed
notebook, where the runner takes it (`take_handed_over`) and records it once, after the
run, so the notebook's banner and metadata and verdict.json are made from the same result.
"""

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from ..core import layout
from ..core.errors import RolloutGatesError
from ..core.verdict import GateResult, read_verdict

RESULT_MIME = "application/vnd.rollout-gates.result+json"


def record_verdict(run_dir: Path, result: GateResult) -> Path:
    """Write verdict.json atomically (temporary file, then rename): no reader sees half of one."""
    path = layout.verdict_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = result.model_dump_json(indent=2)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".verdict-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(payload + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # the rename then never points at unwritten data
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def hand_over(result: GateResult) -> None:
    """In the kernel: leave the result as an output of the cell, for the runner to record."""
    from IPython.display import display

    display({RESULT_MIME: result.model_dump(mode="json")}, raw=True)


def take_handed_over(notebook) -> GateResult | None:
    """The result the executed notebook handed over (the last, if several), removed from it:
    the notebook keeps the recorded verdict in its metadata instead. None without one."""
    found = []
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        found += [o["data"][RESULT_MIME] for o in outputs if RESULT_MIME in o.get("data", {})]
        if outputs:
            cell.outputs = [o for o in outputs if RESULT_MIME not in o.get("data", {})]
    return GateResult.model_validate(found[-1]) if found else None


def recorded_verdicts(root: Path, env: str, gate: str) -> list[GateResult]:
    """Every readable verdict of a gate, oldest as-of first."""
    results = []
    for path in layout.verdict_paths(root, env, gate):
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

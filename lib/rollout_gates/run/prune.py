"""Remove old run folders, keeping what an incident review may still need.

Never removed: the latest run of each gate (what `report` and preflight read),
and any FAIL or ERROR run unless asked (`include_failures`), since those are
the evidence an incident report links to. Age comes from the folder's name,
the UTC time the run started, not from file times that a copy would change.
"""

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from ..core import layout
from ..core.verdict import Status, read_verdict

KEPT_STATUSES = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class RunFolder:
    path: Path
    started: datetime
    status: Status | None  # None: no verdict (a replay, or a run killed before it wrote one)

    @property
    def group(self) -> Path:
        """The gate (or replayed gate) the run belongs to."""
        return self.path.parent


def find_runs(root: Path, env: str) -> list[RunFolder]:
    """The environment's run folders: its gates' runs and its replays."""
    runs = []
    for folder in layout.run_dirs(root, env):
        started = layout.parse_stamp(folder.name)
        if started is None or folder.is_symlink() or not folder.is_dir():
            continue
        runs.append(RunFolder(folder, started, read_status(layout.verdict_path(folder))))
    return runs


def read_status(path: Path) -> Status | None:
    """A verdict's status; an unreadable one counts as ERROR, so it is kept like one."""
    if not path.exists():
        return None
    try:
        return read_verdict(path).status
    except (OSError, ValueError, ValidationError):
        return Status.ERROR


def select_prunable(
    runs: list[RunFolder], now: datetime, keep_days: float, include_failures: bool = False
) -> list[RunFolder]:
    """The runs older than `keep_days` that are neither their gate's latest nor (by default)
    a FAIL or ERROR; pure."""
    cutoff = now - timedelta(days=keep_days)
    latest = {}
    for run in runs:
        if run.group not in latest or run.path.name > latest[run.group].path.name:
            latest[run.group] = run
    return [
        run
        for run in runs
        if run.started < cutoff
        and latest[run.group] is not run
        and (include_failures or run.status not in KEPT_STATUSES)
    ]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def remove_runs(runs: list[RunFolder]) -> int:
    """Delete the folders; returns the bytes freed."""
    freed = 0
    for run in runs:
        freed += folder_size(run.path)
        shutil.rmtree(run.path)
    return freed

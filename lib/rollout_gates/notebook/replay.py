"""Backtest a gate: apply its rules at every step of a time range, in one session.

"When would the red flag have fired, and would it have fired on the noise of a
normal day?" One notebook shows the whole timeline, so replaying 12 hours every
10 minutes costs a few seconds of queries, not 72 papermill runs.
"""

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ..core import layout
from ..core.errors import UsageError
from ..core.verdict import SEVERITY, Status, gate_status
from ..gates import gate_module
from ..present.plots import new_figure
from .context import GateContext

MAX_STEPS = 2000
GATE_ROW = "gate"  # the row of the gate's own status in the timeline
# Plot order and colours, from good to bad; WARN is advisory and drawn like PASS but paler.
STATUS_COLOURS = {
    Status.PASS: "#2ca02c",
    Status.WARN: "#b5e3a6",
    Status.INCONCLUSIVE: "#bdbdbd",
    Status.ERROR: "#ff7f0e",
    Status.FAIL: "#d62728",
}


def replay_times(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """start, start + step, ... up to and including end; refuses an empty or huge range."""
    if end < start:
        raise UsageError(f"--from {start:%Y-%m-%dT%H:%M}Z is after --to {end:%Y-%m-%dT%H:%M}Z")
    count = int((end - start) / step) + 1
    if count > MAX_STEPS:
        raise UsageError(
            f"{count} steps from --from to --to every {step}: at most {MAX_STEPS}; "
            "use a larger --step or a shorter range"
        )
    return [start + i * step for i in range(count)]


def describe(gate: GateContext, times: list[datetime], step: str) -> str:
    """The gate's own header (its last step's window), then the range replayed."""
    return (
        f"{gate.describe()}\n\nreplayed at **{len(times)}** as-of times from "
        f"{times[0]:%Y-%m-%d %H:%M} to {times[-1]:%Y-%m-%d %H:%M} UTC, every {step}; "
        "each step judges its own window"
    )


def replay_gate(gate: GateContext, times: list[datetime], progress=None) -> pd.DataFrame:
    """One row per as-of and check, plus a `gate` row with the gate's status at that time."""
    assess = gate_module(gate.spec.id).assess
    rows = []
    for index, as_of in enumerate(times):
        checks = assess(dataclasses.replace(gate, as_of=as_of))
        gate.connection.rollback()  # each step reads its own snapshot
        rows.append(
            {"as_of": as_of, "check": GATE_ROW, "status": gate_status(checks), "detail": ""}
        )
        rows += [
            {"as_of": as_of, "check": c.id, "status": c.status, "detail": c.detail} for c in checks
        ]
        if progress and (index + 1) % 10 == 0:
            progress(f"{index + 1}/{len(times)} steps")
    frame = pd.DataFrame(rows, columns=["as_of", "check", "status", "detail"])
    frame["status"] = frame["status"].map(str)
    return frame


def gate_timeline(frame: pd.DataFrame) -> pd.DataFrame:
    """as_of | gate status | the checks that did not pass: the table to read first."""
    rows = []
    for as_of, steps in frame.groupby("as_of", sort=True):
        status = steps.loc[steps["check"] == GATE_ROW, "status"].iloc[0]
        checks = steps[steps["check"] != GATE_ROW]
        not_passing = checks[~checks["status"].isin([Status.PASS, Status.WARN])]
        listed = ", ".join(f"{c} {s}" for c, s in not_passing[["check", "status"]].values)
        rows.append({"as_of": as_of, "status": status, "not passing": listed})
    return pd.DataFrame(rows, columns=["as_of", "status", "not passing"])


def status_changes(timeline: pd.DataFrame) -> pd.DataFrame:
    """Only the steps where the gate's status changed: when a red flag fired and cleared."""
    changed = timeline["status"] != timeline["status"].shift()
    return timeline[changed].reset_index(drop=True)


def plot_timeline(frame: pd.DataFrame, title: str):
    """Each check's status over time, one row a check and the gate on top."""
    order = list(STATUS_COLOURS)
    checks = [GATE_ROW] + [c for c in dict.fromkeys(frame["check"]) if c != GATE_ROW]
    grid = frame.pivot(index="check", columns="as_of", values="status").reindex(checks)
    codes = grid.apply(lambda column: column.map(lambda s: order.index(Status(s))))
    times = pd.to_datetime(grid.columns)
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta("10min")
    edges = mdates.date2num(list(times - step / 2) + [times[-1] + step / 2])
    figure, axis = new_figure(10, 0.45 * len(checks) + 1.4)
    axis.pcolormesh(
        edges,
        range(len(checks) + 1),
        codes.to_numpy(dtype=float),
        cmap=ListedColormap(list(STATUS_COLOURS.values())),
        vmin=-0.5,
        vmax=len(order) - 0.5,
        edgecolors="white",
        linewidth=0.3 if len(times) <= 48 else 0,
    )
    axis.set_yticks([i + 0.5 for i in range(len(checks))], checks)
    axis.invert_yaxis()
    axis.xaxis_date()
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8, tz=UTC)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    axis.set_xlabel("as of (UTC)")
    axis.set_title(title, loc="left")
    handles = [Patch(color=STATUS_COLOURS[s]) for s in order]
    axis.legend(handles, order, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    figure.tight_layout()
    return figure


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def write_evidence(run_dir: str, gate: GateContext, frame: pd.DataFrame, figure) -> dict:
    """The replay's tables, figure and replay.json summary in its folder; returns the summary."""
    folder = Path(run_dir)
    tables, figures = layout.tables_dir(folder), layout.figures_dir(folder)
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    timeline = gate_timeline(frame)
    frame.to_csv(tables / "checks.csv", index=False)
    timeline.to_csv(tables / "timeline.csv", index=False)
    (figures / "timeline.png").write_bytes(figure_png(figure))
    summary = {
        "gate": gate.spec.id,
        "env": gate.env,
        "database": gate.database,
        "simulated": gate.simulated,
        "scenario": gate.scenario,
        "params_hash": gate.params.digest(),
        "steps": len(timeline),
        "worst": max(timeline["status"], key=lambda s: SEVERITY[Status(s)], default=None),
        "timeline": [
            {"as_of": as_of.isoformat(), "status": status, "not_passing": listed}
            for as_of, status, listed in timeline.itertuples(index=False)
        ],
    }
    (folder / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary

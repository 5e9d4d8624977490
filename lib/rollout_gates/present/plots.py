"""Trend figures: rates per bucket with the gates' bounds (stats.py), and event counts."""

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from ..core.stats import DEFAULT_CONFIDENCE, percent


def new_figure(width: float, height: float) -> tuple[Figure, object]:
    """A figure and its axes without pyplot: the kernel skips importing pyplot and its backend,
    and the inline backend does not render the figure a second time (save_figure shows it)."""
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def plot_rate(
    rates: pd.DataFrame,
    rate: str,
    title: str,
    limits: list[tuple[float, str]],
    ylim=(0, 1.02),
    confidence: float = DEFAULT_CONFIDENCE,
):
    """Point estimate per bucket with the gates' confidence bounds as error bars, and the
    limits. A bucket with too few decided bookings to be judged alone (`judged_alone`, from
    metrics.rates_by_bucket) is drawn hollow: its bar is wide because it is small."""
    figure, axis = new_figure(9, 3.2)
    known = rates.dropna(subset=[f"{rate}_rate"])
    centres = bucket_centres(rates).loc[known.index]
    if known.empty:
        axis.text(
            0.5, 0.5, "no decided bookings", ha="center", va="center", transform=axis.transAxes
        )
    alone = known["judged_alone"] if "judged_alone" in known else pd.Series(True, known.index)
    bounds = f"{percent(confidence)} bounds"
    for judged, style in ((True, {"fmt": "o"}), (False, {"fmt": "o", "mfc": "white"})):
        part = known[alone == judged]
        if part.empty:
            continue
        centre = part[f"{rate}_rate"]
        label = f"{title} ({bounds})" if judged else f"too few to judge alone ({bounds})"
        axis.errorbar(
            centres.loc[part.index],
            centre,
            yerr=[centre - part[f"{rate}_low"], part[f"{rate}_high"] - centre],
            capsize=3,
            color="tab:blue" if judged else "tab:gray",
            label=label,
            **style,
        )
    if not known.empty:
        axis.plot(centres, known[f"{rate}_rate"], "-", color="tab:blue", alpha=0.4)
    for value, label in limits:
        axis.axhline(value, linestyle="--", linewidth=1, color="tab:red", label=label)
    axis.set_ylim(*ylim)
    axis.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    _finish(axis, title)
    return figure


def plot_counts(series: dict[str, pd.DataFrame], title: str):
    """Bars of event counts per bucket, one colour per event type."""
    figure, axis = new_figure(9, 2.8)
    width = None
    for offset, (label, frame) in enumerate(series.items()):
        starts = pd.to_datetime(frame["bucket_start"])
        if width is None:
            step = (starts.iloc[1] - starts.iloc[0]) if len(starts) > 1 else pd.Timedelta("10min")
            width = step / max(len(series), 1) * 0.9
        axis.bar(starts + width * offset, frame["events"], width=width, align="edge", label=label)
    axis.yaxis.get_major_locator().set_params(integer=True)
    _finish(axis, title)
    return figure


def bucket_centres(frame: pd.DataFrame) -> pd.Series:
    """Plot a bucket at its middle, so the last point sits just before the as-of time."""
    starts = pd.to_datetime(frame["bucket_start"])
    step = starts.diff().median() if len(starts) > 1 else pd.Timedelta(0)
    return starts + step / 2


def _finish(axis, title: str) -> None:
    axis.set_title(title, loc="left")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz="UTC"))
    axis.set_xlabel("UTC")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    axis.figure.tight_layout()

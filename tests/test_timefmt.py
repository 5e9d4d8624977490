"""The one duration parser and formatter, and the times detail lines show; expected by hand."""

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from rollout_gates.core.timefmt import as_utc, format_duration, iso, parse_duration, utc


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("48h", 172800),
        ("7d", 604800),
        ("1.5h", 5400),
        ("6h 05m", 6 * 3600 + 300),  # format_duration's own spelling reads back
        ("1h30m", 5400),
    ],
)
def test_parse_duration_reads_the_params_syntax(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0h", "-1h", "48", "2 days", "h", ""])
def test_parse_duration_refuses_what_is_not_a_positive_duration(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "spelled"),
    [
        (timedelta(hours=48), "48h"),  # the runbook's "48 hours", not 2d
        (timedelta(hours=30), "30h"),
        (timedelta(hours=6, minutes=5), "6h 05m"),
        (timedelta(minutes=90), "1h 30m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(seconds=37), "37s"),
        (timedelta(seconds=3601), "1h 01s"),
        (timedelta(hours=71, minutes=59), "71h 59m"),  # still hours below three days
        (timedelta(days=3), "3d"),
        (timedelta(days=7), "7d"),
        (timedelta(days=7, minutes=5), "7d 05m"),
        (timedelta(days=7, hours=23), "7d 23h"),
    ],
)
def test_format_duration_counts_in_hours_up_to_three_days_and_reads_back(duration, spelled):
    assert format_duration(duration) == spelled
    assert parse_duration(spelled) == duration


def test_format_duration_truncates_so_a_soak_short_by_a_second_never_reads_as_reached():
    assert format_duration(timedelta(hours=48) - timedelta(microseconds=1)) == "47h 59m 59s"


@pytest.mark.parametrize(
    ("duration", "spelled"),
    [
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=59, seconds=40), "1h"),  # within half a unit of the next
        (timedelta(hours=8, minutes=20), "8h"),
        (timedelta(hours=48), "48h"),
        (timedelta(days=3, hours=11), "3d"),
        (timedelta(seconds=5), "1m"),  # never 0
    ],
)
def test_format_duration_rough_is_one_rounded_unit_for_forecasts(duration, spelled):
    assert format_duration(duration, rough=True) == spelled


def test_utc_shows_any_zone_and_pandas_timestamps_in_utc():
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 29, 4, 30, 5, tzinfo=paris)
    assert utc(moment) == "2026-11-29 03:30:05 UTC"
    assert utc(pd.Timestamp("2026-11-29 03:30:05", tz="UTC")) == "2026-11-29 03:30:05 UTC"
    assert utc(None) == "–"


def test_iso_is_what_as_of_takes_and_a_naive_time_is_utc():
    naive = datetime(2026, 11, 29, 3, 30)
    assert iso(naive) == "2026-11-29T03:30:00Z"
    assert as_utc(naive) == datetime(2026, 11, 29, 3, 30, tzinfo=UTC)

"""The one duration parser and formatter, and the times detail lines show; expected by hand."""

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from rollout_gates.core.timefmt import as_utc, format_duration, iso, parse_duration, utc


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("48h", 172800), ("7d", 604800), ("1.5h", 5400)],
)
def test_parse_duration_reads_the_params_syntax(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0h", "-1h", "48", "2 days", "1h30m", ""])
def test_parse_duration_refuses_what_is_not_a_positive_duration(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "spelled"),
    [
        (timedelta(days=7), "7d"),
        (timedelta(hours=48), "2d"),  # the largest unit that divides it evenly
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=3601), "3601s"),
    ],
)
def test_format_duration_is_exact_in_the_params_syntax(duration, spelled):
    assert format_duration(duration) == spelled
    assert parse_duration(spelled) == duration


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

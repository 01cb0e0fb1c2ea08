"""How counts and times read on the site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from snapscale.web.formatting import full_time, quantity, short_time

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("count", "noun", "reads"),
    [(0, "like", "0 likes"), (1, "like", "1 like"), (12400, "follower", "12,400 followers")],
)
def test_counts_read_naturally(count: int, noun: str, reads: str) -> None:
    assert quantity(count, noun) == reads


@pytest.mark.parametrize(
    ("ago", "reads"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=5, seconds=59), "5 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=1, hours=2), "yesterday"),
        (timedelta(days=6), "6 days ago"),
        (timedelta(days=30), "25 Oct"),
        (timedelta(days=400), "20 Oct 2025"),
    ],
)
def test_times_read_as_how_long_ago_then_as_dates(ago: timedelta, reads: str) -> None:
    assert short_time(NOW - ago, now=NOW) == reads


def test_times_without_a_zone_are_utc() -> None:
    naive = (NOW - timedelta(minutes=2)).replace(tzinfo=None)

    assert short_time(naive, now=NOW) == "2 min ago"
    assert full_time(naive) == "24 November 2026, 15:28 UTC"

"""Template filters: how counts and times read on the site."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

_IRREGULAR = {"person": "people"}


def quantity(count: int, noun: str) -> str:
    """ "1 like", "0 likes", "12,400 followers"."""
    word = noun if count == 1 else _IRREGULAR.get(noun, noun + "s")
    return f"{count:,} {word}"


def short_time(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, while that is what people care about; then the date."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the database keeps UTC without a zone
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        days = int(seconds // 86400)
        return "yesterday" if days == 1 else f"{days} days ago"
    if moment.year == now.year:
        return f"{moment.day} {moment:%b}"
    return f"{moment.day} {moment:%b %Y}"


def full_time(moment: datetime) -> str:
    """For the tooltip and screen readers: "24 November 2026, 14:05 UTC"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.day} {moment.astimezone(UTC):%B %Y, %H:%M} UTC"


def iso_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def install(app: Flask) -> None:
    app.add_template_filter(quantity)
    app.add_template_filter(short_time)
    app.add_template_filter(full_time)
    app.add_template_filter(iso_time)

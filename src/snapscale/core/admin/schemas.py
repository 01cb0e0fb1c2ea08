"""What the admin service gives: the dashboard's figures and accounts under moderation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from snapscale.core.ids import PublicId


class UserCounts(BaseModel):
    total: int
    new_last_day: int = Field(description="Accounts made in the last 24 hours.")
    active: int = Field(description="Accounts not deactivated.")


class PhotoCounts(BaseModel):
    """Photos not deleted, by status."""

    total: int
    ready: int
    processing: int
    failed: int


class JobQueue(BaseModel):
    known: bool = Field(description="False when the broker could not be asked just now.")
    depth: int | None = Field(description="Jobs sent and not yet started.")
    oldest_age_seconds: float | None = Field(
        description="How long the oldest waiting job has waited; null if none wait or the "
        "broker cannot tell."
    )


class RequestFigures(BaseModel):
    per_minute: float = Field(description="Requests in the last 60 seconds (estimated).")
    error_rate: float | None = Field(description="Share of 5xx answers over the window.")
    p99_ms: float | None = Field(description="99th percentile latency over the window.")
    window_minutes: int = Field(description="The window of the error rate and p99.")


class MinutePoint(BaseModel):
    minute: datetime = Field(description="Start of the minute (UTC).")
    requests: int
    errors: int
    error_rate: float | None
    p99_ms: float | None
    uploads: int


class Dashboard(BaseModel):
    generated_at: datetime
    shared: bool = Field(
        description="True when the request figures add up every replica (through Redis); "
        "false when they are this server's alone."
    )
    latency_resolution: str
    requests: RequestFigures
    uploads_per_minute: float = Field(description="Uploads in the last 60 seconds (estimated).")
    users: UserCounts
    photos: PhotoCounts
    jobs: JobQueue
    series: list[MinutePoint] = Field(description="One point per minute, oldest first.")


class ModeratedUser(BaseModel):
    """An account as the moderation pages show it (deactivated ones included)."""

    model_config = ConfigDict(from_attributes=True)

    id: PublicId
    username: str
    display_name: str
    email: str
    is_active: bool
    is_admin: bool
    created_at: datetime
    photos_count: int
    followers_count: int

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, IdMixin, utcnow


class PhotoStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Photo(IdMixin, Base):
    __tablename__ = "photos"
    __table_args__ = (
        # A retried upload with the same Idempotency-Key finds the photo it already made.
        UniqueConstraint("owner_id", "idempotency_key"),
        # A profile's photo list: one owner, newest first.
        Index("ix_photos_owner_id_id", "owner_id", "id"),
        # The sweep that re-sends processing jobs which look lost.
        Index("ix_photos_status_updated_at", "status", "updated_at"),
    )

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default=PhotoStatus.PROCESSING)
    caption: Mapped[str] = mapped_column(Text, default="")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    original_format: Mapped[str] = mapped_column(String(8))
    original_bytes: Mapped[int]
    original_sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # Displayed size (after EXIF orientation), known from the header at upload.
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # {"thumb": {"width": 320, "height": 320}, ...} once processed.
    renditions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    dominant_color: Mapped[str | None] = mapped_column(String(7))
    perceptual_hash: Mapped[str | None] = mapped_column(String(16))
    near_duplicate_of_id: Mapped[int | None]
    # Incremented each time processing starts; a photo that keeps killing workers stops
    # being retried once it passes the configured maximum.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    processed_at: Mapped[datetime | None]
    # Set at delete: readers stop seeing the photo at once; a job removes the files and row.
    deleted_at: Mapped[datetime | None]

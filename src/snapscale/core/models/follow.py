from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, IdMixin, utcnow


class Follow(IdMixin, Base):
    """``follower_id`` follows ``followee_id``. The id orders both lists, newest first."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "followee_id"),
        # "Who follows X": one followee, newest follow first.
        Index("ix_follows_followee_id_id", "followee_id", "id"),
        # "Whom does X follow": one follower, newest first.
        Index("ix_follows_follower_id_id", "follower_id", "id"),
    )

    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    followee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, utcnow


class Like(Base):
    __tablename__ = "likes"
    # "Did these readers like these photos?" for a page of photos: the primary key.
    __table_args__ = (Index("ix_likes_user_id", "user_id"),)

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

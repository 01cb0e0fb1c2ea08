from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, IdMixin, utcnow


class Comment(IdMixin, Base):
    __tablename__ = "comments"
    # A photo's comments, oldest first.
    __table_args__ = (Index("ix_comments_photo_id_id", "photo_id", "id"),)

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

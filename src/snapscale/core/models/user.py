from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, IdMixin, utcnow


class User(IdMixin, Base):
    __tablename__ = "users"

    # Stored lower-case (the allowed alphabet has no capitals), so a plain unique index
    # makes usernames unique case-insensitively.
    username: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(60), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped when the password changes: access tokens and site sessions minted under an
    # older value stop working at once.
    token_version: Mapped[int] = mapped_column(default=1)
    # Counters kept by atomic increments in the transaction that changes what they count.
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    photos_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Emails keep the case people typed but are unique regardless of it.
Index("uq_users_email_lower", func.lower(User.email), unique=True)

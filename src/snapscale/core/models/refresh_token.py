from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, IdMixin, utcnow


class RefreshToken(IdMixin, Base):
    """One issued refresh token. Only its SHA-256 is stored.

    Tokens descending from one log-in share a family; presenting a token that was
    already rotated away is taken as theft and revokes the whole family.
    """

    __tablename__ = "refresh_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[int] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

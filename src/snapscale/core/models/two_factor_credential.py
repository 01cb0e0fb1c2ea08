from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from snapscale.core.db import Base, utcnow


class TwoFactorCredential(Base):
    """An account's authenticator-app secret (TOTP, RFC 6238). At most one per account.

    The secret is stored sealed (``accounts.sealed_secrets``), never as the app needs it.
    Two-factor sign-in is on only once ``enabled_at`` is set, which happens when the
    person proves their app makes the right codes.
    """

    __tablename__ = "two_factor_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    secret: Mapped[str] = mapped_column(String(255))  # a Fernet token: about 140 characters
    enabled_at: Mapped[datetime | None]
    # The time step of the last code accepted: a code is good once, and never one from
    # an earlier step, so an overheard code cannot be replayed.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

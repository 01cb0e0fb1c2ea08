"""Every query the accounts domain makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.models import RefreshToken, User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(User.username == username))
    return result.scalar_one_or_none()


async def get_user_by_login(session: AsyncSession, login: str) -> User | None:
    """The account whose username or email (either case) is ``login``."""
    login = login.strip().lower()
    result = await session.execute(
        select(User).where(or_(User.username == login, func.lower(User.email) == login))
    )
    return result.scalars().first()


async def username_exists(session: AsyncSession, username: str) -> bool:
    result = await session.execute(select(User.id).where(User.username == username))
    return result.first() is not None


async def email_exists(
    session: AsyncSession, email: str, *, except_user_id: int | None = None
) -> bool:
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    return (await session.execute(query)).first() is not None


async def list_users(session: AsyncSession, *, before_id: int | None, limit: int) -> Sequence[User]:
    """Newest accounts first (ids are time-ordered)."""
    query = select(User).where(User.is_active).order_by(User.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(User.id < before_id)
    return (await session.execute(query)).scalars().all()


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    )
    return result.scalar_one_or_none()


async def claim_refresh_token(session: AsyncSession, token_id: int, now: datetime) -> bool:
    """Mark a token used, atomically: of two concurrent refreshes with it, only one wins."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_family(session: AsyncSession, family_id: int, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )

"""Every query the accounts domain makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from snapscale.core.models import RecoveryCode, RefreshToken, TwoFactorCredential, User


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


async def get_two_factor(session: AsyncSession, user_id: int) -> TwoFactorCredential | None:
    return await session.get(TwoFactorCredential, user_id)


async def two_factor_is_enabled(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(
        select(TwoFactorCredential.user_id).where(
            TwoFactorCredential.user_id == user_id, TwoFactorCredential.enabled_at.is_not(None)
        )
    )
    return result.first() is not None


async def claim_totp_step(session: AsyncSession, user_id: int, step: int) -> bool:
    """Record that the code of ``step`` was used, atomically, if no code of this step or a
    later one was: of two requests racing with one code, only one wins."""
    result = await session.execute(
        update(TwoFactorCredential)
        .where(
            TwoFactorCredential.user_id == user_id,
            or_(
                TwoFactorCredential.last_used_step.is_(None),
                TwoFactorCredential.last_used_step < step,
            ),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_two_factor(session: AsyncSession, user_id: int) -> None:
    """Forget the account's authenticator secret and every recovery code."""
    await delete_recovery_codes(session, user_id)
    await session.execute(
        delete(TwoFactorCredential)
        .where(TwoFactorCredential.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


async def unused_recovery_codes(session: AsyncSession, user_id: int) -> Sequence[RecoveryCode]:
    result = await session.execute(
        select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return result.scalars().all()


async def count_unused_recovery_codes(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(result.scalar_one())


async def use_recovery_code(session: AsyncSession, code_id: int, now: datetime) -> bool:
    """Spend a recovery code, atomically: of two requests racing with it, only one wins."""
    result = await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_recovery_codes(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )

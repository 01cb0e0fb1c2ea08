"""Accounts: registration, sign-in, tokens, profiles. Called by the API and the site alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from snapscale.core import security
from snapscale.core.accounts import repository, rules, two_factor
from snapscale.core.accounts.schemas import (
    Account,
    PasswordChange,
    ProfileUpdate,
    PublicProfile,
    Registration,
    TokenPair,
)
from snapscale.core.admin import audit
from snapscale.core.cache import Cache
from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.errors import (
    AuthenticationFailed,
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from snapscale.core.ids import new_id
from snapscale.core.models import RefreshToken, User
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.ratelimit import RateLimiter

# One message for an unknown account and a wrong password: no account enumeration.
BAD_CREDENTIALS = "Incorrect username, email or password."
BAD_TOKEN = "The token is invalid, expired or revoked."  # noqa: S105 (a message)  # nosec B105


def _profile_cache_key(username: str) -> str:
    return f"profile:{username}"


async def register(uow: UnitOfWork, *, data: Registration, is_admin: bool = False) -> Account:
    if await repository.username_exists(uow.session, data.username):
        raise Conflict("That username is taken.", errors=[FieldError("username", "is taken")])
    if await repository.email_exists(uow.session, data.email):
        raise Conflict(
            "An account with that email already exists.", errors=[FieldError("email", "is in use")]
        )
    user = User(
        id=new_id(),
        username=data.username,
        email=data.email,
        display_name=data.display_name,
        bio="",
        password_hash=await asyncio.to_thread(security.hash_password, data.password),
        is_active=True,
        is_admin=is_admin,
        token_version=1,
    )
    uow.session.add(user)
    await _flush_or_conflict(uow)
    return Account.model_validate(user)


async def authenticate(uow: UnitOfWork, *, login: str, password: str) -> User:
    """The active account for these credentials; the same error whatever is wrong."""
    # No username or email holds control characters, and PostgreSQL refuses even to
    # compare text holding a NUL: such a login matches nobody, without asking.
    user = await repository.get_user_by_login(uow.session, login) if login.isprintable() else None
    # Verify even when there is no user, so both failures take the same time.
    valid = await asyncio.to_thread(
        security.verify_password, user.password_hash if user else None, password
    )
    if user is None or not valid or not user.is_active:
        raise AuthenticationFailed(BAD_CREDENTIALS)
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(security.hash_password, password)
    return user


async def log_in(
    uow: UnitOfWork,
    *,
    login: str,
    password: str,
    otp: str | None = None,
    limiter: RateLimiter | None = None,
) -> TokenPair:
    """Tokens for the password, and for accounts with two-factor sign-in, a code (``otp``),
    whose attempts ``limiter`` counts."""
    user = await authenticate(uow, login=login, password=password)
    await two_factor.check_sign_in(uow, user=user, code=otp, limiter=limiter)
    return await _issue_tokens(uow, user=user, family_id=new_id())


async def refresh(uow: UnitOfWork, *, refresh_token: str) -> TokenPair:
    now = utcnow()
    stored = await repository.get_refresh_token(uow.session, security.digest_token(refresh_token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise AuthenticationFailed(BAD_TOKEN)
    if not await repository.claim_refresh_token(uow.session, stored.id, now):
        # Already rotated away: either the client retried, or someone stole it. Assume
        # theft and end every session descending from that log-in. The revocation must
        # survive the error response, so it is committed by the caller's unit of work.
        await repository.revoke_family(uow.session, stored.family_id, now)
        raise TokenReused(BAD_TOKEN)
    user = await repository.get_user(uow.session, stored.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(BAD_TOKEN)
    return await _issue_tokens(uow, user=user, family_id=stored.family_id)


class TokenReused(AuthenticationFailed):
    """A rotated refresh token came back; its family's revocation must be kept."""

    keeps_changes = True


async def log_out(uow: UnitOfWork, *, refresh_token: str) -> None:
    """End the session the refresh token belongs to; unknown tokens are quietly ignored."""
    stored = await repository.get_refresh_token(uow.session, security.digest_token(refresh_token))
    if stored is not None:
        await repository.revoke_family(uow.session, stored.family_id, utcnow())


async def user_for_access_token(uow: UnitOfWork, *, token: str) -> User:
    claims = security.read_access_token(token, key=uow.settings.signing_key)
    if claims is None:
        raise AuthenticationFailed(BAD_TOKEN)
    user = await repository.get_user(uow.session, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        raise AuthenticationFailed(BAD_TOKEN)
    return user


async def user_for_session(uow: UnitOfWork, *, user_id: int, token_version: int) -> User | None:
    """The signed-in user of a site session, or None once it was ended by a password change."""
    user = await repository.get_user(uow.session, user_id)
    if user is None or not user.is_active or user.token_version != token_version:
        return None
    return user


async def get_account(uow: UnitOfWork, *, user_id: int) -> Account:
    user = await repository.get_user(uow.session, user_id)
    if user is None:
        raise NotFound("No such account.")
    return Account.model_validate(user)


async def cached_public_profile_json(cache: Cache, *, username: str) -> bytes | None:
    """The profile's JSON exactly as the API answers it, when the cache has it (None for
    a name no account can have). The API's hot path sends these bytes as they are."""
    try:
        username = rules.normalize_username(username)
    except ValueError:
        return None
    return await cache.get(_profile_cache_key(username))


async def get_public_profile(
    uow: UnitOfWork, *, username: str, cache_just_missed: bool = False
) -> PublicProfile:
    """Cache-aside: the cache answers when it can, the database when it cannot.

    ``cache_just_missed``: the caller has just looked in the cache for this profile, so
    it goes straight to the database (one lookup per read, and one miss counted)."""
    try:
        username = rules.normalize_username(username)
    except ValueError:
        # A name no account can have (NUL bytes included) is answered without a query.
        raise NotFound(f"There is no user called {username!r}.") from None
    key = _profile_cache_key(username)
    cached = None if cache_just_missed else await uow.cache.get(key)
    if cached is not None:
        return PublicProfile.model_validate_json(cached)
    user = await repository.get_user_by_username(uow.session, username)
    if user is None or not user.is_active:
        raise NotFound(f"There is no user called {username!r}.")
    profile = PublicProfile.model_validate(user)
    await uow.cache.set(
        key, profile.model_dump_json().encode(), uow.settings.profile_cache_ttl_seconds
    )
    return profile


async def list_users(uow: UnitOfWork, *, cursor: str | None, limit: int) -> Page[PublicProfile]:
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    users = await repository.list_users(uow.session, before_id=before_id, limit=limit + 1)
    items = [PublicProfile.model_validate(user) for user in users[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(users) > limit else None
    return Page[PublicProfile](items=items, next_cursor=next_cursor)


async def update_profile(uow: UnitOfWork, *, user_id: int, changes: ProfileUpdate) -> Account:
    user = await _existing_user(uow, user_id)
    new_email = changes.email
    email_changes = new_email is not None and new_email.lower() != user.email.lower()
    if email_changes and await repository.email_exists(
        uow.session, str(new_email), except_user_id=user.id
    ):
        raise Conflict(
            "An account with that email already exists.", errors=[FieldError("email", "is in use")]
        )
    for field, value in changes.model_dump(exclude_none=True).items():
        setattr(user, field, value)
    user.updated_at = utcnow()
    await _flush_or_conflict(uow)
    invalidate_profile(uow, user.username)
    return Account.model_validate(user)


async def change_password(uow: UnitOfWork, *, user_id: int, change: PasswordChange) -> TokenPair:
    """Set a new password, end every other session and token, and sign this client in again."""
    user = await _existing_user(uow, user_id)
    if not await asyncio.to_thread(
        security.verify_password, user.password_hash, change.current_password
    ):
        raise InvalidInput.for_field("current_password", "is not your current password")
    if change.new_password.lower() in {user.username, user.email.lower()}:
        raise InvalidInput.for_field(
            "new_password", "must not be the same as the username or email"
        )
    user.password_hash = await asyncio.to_thread(security.hash_password, change.new_password)
    user.token_version += 1
    user.updated_at = utcnow()
    await repository.revoke_user_tokens(uow.session, user.id, utcnow())
    return await _issue_tokens(uow, user=user, family_id=new_id())


async def require_admin(uow: UnitOfWork, *, user_id: int) -> User:
    """The acting administrator; anyone else (or a deactivated admin) is refused."""
    user = await repository.get_user(uow.session, user_id)
    if user is None or not user.is_active or not user.is_admin:
        raise PermissionDenied("Only administrators may do that.")
    return user


async def deactivate(uow: UnitOfWork, *, user_id: int, admin_id: int) -> Account:
    """Moderation: the account can no longer sign in, every session and token it holds
    ends at once, and its profile and photos stop being shown. Reversible."""
    await require_admin(uow, user_id=admin_id)
    if user_id == admin_id:
        raise InvalidInput("You cannot deactivate your own account.")
    user = await _any_user(uow, user_id)
    if user.is_active:
        user.is_active = False
        # Like a password change: access tokens and site sessions carry the old version.
        user.token_version += 1
        user.updated_at = utcnow()
        await repository.revoke_user_tokens(uow.session, user.id, utcnow())
        invalidate_profile(uow, user.username)
        audit.record(uow, "deactivated", admin_id=admin_id, target_user_id=user.id)
    return Account.model_validate(user)


async def reactivate(uow: UnitOfWork, *, user_id: int, admin_id: int) -> Account:
    """Undo a deactivation: the account may sign in again (its old sessions stay ended)."""
    await require_admin(uow, user_id=admin_id)
    user = await _any_user(uow, user_id)
    if not user.is_active:
        user.is_active = True
        user.updated_at = utcnow()
        invalidate_profile(uow, user.username)
        audit.record(uow, "reactivated", admin_id=admin_id, target_user_id=user.id)
    return Account.model_validate(user)


async def _any_user(uow: UnitOfWork, user_id: int) -> User:
    user = await repository.get_user(uow.session, user_id)
    if user is None:
        raise NotFound("No such account.")
    return user


async def _issue_tokens(uow: UnitOfWork, *, user: User, family_id: int) -> TokenPair:
    settings = uow.settings
    token = security.new_refresh_token()
    uow.session.add(
        RefreshToken(
            id=new_id(),
            user_id=user.id,
            family_id=family_id,
            token_hash=security.digest_token(token),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    await uow.session.flush()
    return TokenPair(
        access_token=security.issue_access_token(
            key=settings.signing_key,
            user_id=user.id,
            token_version=user.token_version,
            ttl_seconds=settings.access_token_ttl_seconds,
        ),
        expires_in=settings.access_token_ttl_seconds,
        refresh_token=token,
    )


async def _existing_user(uow: UnitOfWork, user_id: int) -> User:
    user = await repository.get_user(uow.session, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such account.")
    return user


def invalidate_profile(uow: UnitOfWork, username: str) -> None:
    """Drop the cached public profile once the unit of work commits."""
    key = _profile_cache_key(username)

    async def invalidate() -> None:
        await uow.cache.delete(key)

    uow.after_commit(invalidate)


async def _flush_or_conflict(uow: UnitOfWork) -> None:
    """Flush, turning a unique-index race lost to a concurrent request into a 409."""
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        field = "email" if "email" in str(exc.orig).lower() else "username"
        raise Conflict(
            f"That {field} is already in use.", errors=[FieldError(field, "is in use")]
        ) from exc

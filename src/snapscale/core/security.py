"""Password hashing (argon2id), access tokens (JWT) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from snapscale.core.db import utcnow
from snapscale.core.ids import MAX_ID

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account does not exist, so an unknown username costs the
# same time as a wrong password and response timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "snapscale"
JWT_AUDIENCE = "snapscale-api"
# Replicas' clocks drift a little; a token minted on one must verify on another.
CLOCK_SKEW_SECONDS = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int


def issue_access_token(*, key: str, user_id: int, token_version: int, ttl_seconds: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def read_access_token(token: str, *, key: str) -> AccessClaims | None:
    """The claims of a valid token, or None for anything forged, expired or malformed."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],  # pinned: refuses "none" and algorithm confusion
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["sub", "exp", "iat", "ver"]},
            leeway=CLOCK_SKEW_SECONDS,
        )
        user_id = int(claims["sub"])
        # Only the key's holder could sign an id no account can have; the database must
        # still never be asked for one (beyond 64 bits it fails the query: a 500).
        if not 0 < user_id <= MAX_ID:
            return None
        return AccessClaims(user_id=user_id, token_version=int(claims["ver"]))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest_token(token: str) -> str:
    # Refresh tokens carry 256 random bits, so a fast hash is enough (no brute force to slow).
    return hashlib.sha256(token.encode()).hexdigest()

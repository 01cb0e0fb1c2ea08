"""Authenticator-app secrets at rest: sealed with Fernet (AES-128-CBC and HMAC-SHA256,
from the `cryptography` package), so a copy of the database or of a backup alone cannot
make anyone's codes.

The keys come from SNAPSCALE_TWO_FACTOR_KEYS (comma-separated Fernet keys): the first
seals, every one opens, so keys rotate without locking anyone out (add the new key
first, keep the old one after it; each secret is sealed again under the new key the next
time its owner signs in with a code). Unset, one key is derived from the signing key
(HKDF-SHA256), which then must not change while accounts use two-factor sign-in.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from snapscale.config import Settings

# Separates this key from anything else ever derived from the signing key.
_DERIVATION_LABEL = b"snapscale two-factor secrets v1"


class SecretUnreadable(Exception):
    """No configured key opens the stored secret: the keys changed without the old one."""


def seal(settings: Settings, secret: str) -> str:
    return _keys(_key_text(settings)).encrypt(secret.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    try:
        return _keys(_key_text(settings)).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable from None


def reseal(settings: Settings, sealed: str) -> str:
    """The same secret, sealed under the first key (after a rotation)."""
    return _keys(_key_text(settings)).rotate(sealed.encode()).decode()


def is_sealed_under_first_key(settings: Settings, sealed: str) -> bool:
    fernets = _fernets(_key_text(settings))
    try:
        fernets[0].decrypt(sealed.encode())
    except InvalidToken:
        return False
    return True


def _key_text(settings: Settings) -> str:
    if settings.two_factor_keys is not None:
        return settings.two_factor_keys.get_secret_value()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_LABEL).derive(
        settings.signing_key.encode()
    )
    return base64.urlsafe_b64encode(derived).decode()


@cache
def _fernets(key_text: str) -> tuple[Fernet, ...]:
    # Checked when the settings load (config.Settings), so each key is valid here.
    return tuple(Fernet(key.strip()) for key in key_text.split(",") if key.strip())


@cache
def _keys(key_text: str) -> MultiFernet:
    return MultiFernet(list(_fernets(key_text)))

"""The arithmetic of the second factor: authenticator-app codes (TOTP, RFC 6238, as every
authenticator app makes them: SHA-1, 6 digits, 30-second steps) and recovery codes.
No database here; two_factor.py decides what is stored and when a code counts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp

ISSUER = "Snapscale"
STEP_SECONDS = 30
DIGITS = 6
# A code of the step before or after the current one is taken too: phones' clocks drift
# and people type slowly. Wider windows give a guesser more right answers per attempt.
VALID_WINDOW = 1

RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits without the look-alikes (0 o 1 l i), in 3 groups of 4:
# 31^12, about 2^59 codes, too many to guess online and slow to search from a stolen hash.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LENGTH = 3, 4
RECOVERY_CODE_LENGTH = _RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH
# Longer input than any code, however spaced, is not worth hashing.
CODE_INPUT_MAX = 64


def new_secret() -> str:
    """A fresh base32 secret of 160 bits, the size RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account_name: str) -> str:
    """The ``otpauth://`` URI authenticator apps import (as text or as a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )


def current_step(now: float | None = None) -> int:
    return int(time.time() if now is None else now) // STEP_SECONDS


def normalize(code: str) -> str:
    """What people type, as compared: no spaces or dashes, lower case."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def is_totp_shaped(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def is_recovery_code_shaped(code: str) -> bool:
    return len(code) == RECOVERY_CODE_LENGTH and all(ch in _RECOVERY_ALPHABET for ch in code)


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step within the window whose code this is, or None. Every candidate is
    compared, in constant time, so timing tells nothing about which one was close."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = current_step(now)
    found = None
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def new_recovery_codes() -> list[str]:
    """Codes as shown to people: ``abcd-efgh-jkmn``."""
    return [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
        for _ in range(_RECOVERY_GROUPS)
    )
    return "-".join(groups)


def recovery_code_digest(*, user_id: int, code: str) -> str:
    """SHA-256 of the normalized code, salted with the account id so that one table of
    precomputed hashes cannot serve every account. The codes carry ~59 random bits, so a
    fast hash is enough: there is no short, human-chosen secret to slow down."""
    return hashlib.sha256(f"{user_id}:{normalize(code)}".encode()).hexdigest()

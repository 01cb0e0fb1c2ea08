"""Two-factor sign-in: after the password, a code from an authenticator app, or one of
ten single-use recovery codes. Optional per account; called by the API and the site.

Turning it on takes two steps (a secret is handed out, then a code made from it proves
the app has it), so nobody is locked out by a secret that never reached their phone.
Every code attempt counts against a per-account limit, whichever front end it came
through, since six digits are only as strong as guessing them is slow.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from sqlalchemy.exc import IntegrityError

from snapscale.core import security
from snapscale.core.accounts import repository, sealed_secrets, totp
from snapscale.core.accounts.schemas import RecoveryCodes, TwoFactorEnrolment, TwoFactorStatus
from snapscale.core.db import UnitOfWork, utcnow
from snapscale.core.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from snapscale.core.ids import new_id
from snapscale.core.models import RecoveryCode, TwoFactorCredential, User
from snapscale.core.ratelimit import RateLimited, RateLimiter

log = logging.getLogger(__name__)

CODE_NEEDED = (
    "This account uses two-factor sign-in: send the code from your authenticator app, "
    "or a recovery code, as otp."
)
CODE_REFUSED = "That code is wrong, expired or already used."
SIGN_IN_ENDED = "Your log-in took too long or was interrupted; please log in again."
WRONG_CODE = "is wrong, expired or already used"
ALREADY_ON = "Two-factor sign-in is already on; turn it off first to move it to another app."
NOT_ON = "Two-factor sign-in is not on for this account."


class SecondFactorRequired(AuthenticationFailed):
    """The password was right, and the account also needs a code: send one."""

    slug, title = "two-factor-required", "Second factor required"


class SecondFactorFailed(AuthenticationFailed):
    """The password was right, the code was not (wrong, too old, or used already)."""

    slug, title = "two-factor-failed", "Second factor refused"


async def status(uow: UnitOfWork, *, user_id: int) -> TwoFactorStatus:
    credential = await repository.get_two_factor(uow.session, user_id)
    enabled = credential is not None and credential.enabled_at is not None
    left = await repository.count_unused_recovery_codes(uow.session, user_id) if enabled else 0
    return TwoFactorStatus(
        enabled=enabled,
        pending=credential is not None and not enabled,
        enabled_at=credential.enabled_at if credential is not None else None,
        recovery_codes_left=left,
    )


async def is_enabled(uow: UnitOfWork, *, user_id: int) -> bool:
    return await repository.two_factor_is_enabled(uow.session, user_id)


async def start_enrolment(uow: UnitOfWork, *, user_id: int) -> TwoFactorEnrolment:
    """A new secret for the person's app. Nothing changes at sign-in until it is confirmed;
    starting again replaces an unconfirmed secret, so only the newest one can be confirmed."""
    user = await _active_user(uow, user_id)
    credential = await repository.get_two_factor(uow.session, user_id)
    if credential is not None and credential.enabled_at is not None:
        raise Conflict(ALREADY_ON)
    secret = totp.new_secret()
    sealed = sealed_secrets.seal(uow.settings, secret)
    if credential is None:
        uow.session.add(TwoFactorCredential(user_id=user.id, secret=sealed))
    else:
        credential.secret = sealed
        credential.last_used_step = None
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # the same account started twice at the same moment
        raise Conflict("Setting up two-factor sign-in was started twice; try again.") from exc
    return _enrolment(user, secret)


async def pending_enrolment(uow: UnitOfWork, *, user_id: int) -> TwoFactorEnrolment | None:
    """The secret of an enrolment started but not yet confirmed, to show it again."""
    credential = await repository.get_two_factor(uow.session, user_id)
    if credential is None or credential.enabled_at is not None:
        return None
    secret = _unsealed(uow, credential)
    if secret is None:
        return None  # unreadable under the current keys: starting again replaces it
    return _enrolment(await _active_user(uow, user_id), secret)


async def cancel_enrolment(uow: UnitOfWork, *, user_id: int) -> None:
    """Drop an unconfirmed secret; two-factor sign-in that is on is left alone."""
    credential = await repository.get_two_factor(uow.session, user_id)
    if credential is not None and credential.enabled_at is None:
        await repository.delete_two_factor(uow.session, user_id)


async def confirm_enrolment(
    uow: UnitOfWork, *, user_id: int, code: str, limiter: RateLimiter | None
) -> RecoveryCodes:
    """Turn two-factor sign-in on with a code the app made from the new secret, and
    return the recovery codes: the only time they are ever shown."""
    credential = await repository.get_two_factor(uow.session, user_id)
    if credential is None:
        raise Conflict("Start setting up two-factor sign-in first.")
    if credential.enabled_at is not None:
        raise Conflict(ALREADY_ON)
    await _count_attempt(limiter, user_id)
    if not await _accept_app_code(uow, credential, code):
        raise InvalidInput.for_field("code", WRONG_CODE)
    credential.enabled_at = utcnow()
    return await _replace_recovery_codes(uow, user_id)


async def regenerate_recovery_codes(
    uow: UnitOfWork, *, user_id: int, code: str, limiter: RateLimiter | None
) -> RecoveryCodes:
    """New recovery codes for a current code from the app; the old ones stop working."""
    credential = await _enabled_credential(uow, user_id)
    await _count_attempt(limiter, user_id)
    if not await _accept_app_code(uow, credential, code):
        raise InvalidInput.for_field("code", f"{WRONG_CODE} (use the code your app shows now)")
    return await _replace_recovery_codes(uow, user_id)


async def disable(
    uow: UnitOfWork, *, user_id: int, password: str, code: str, limiter: RateLimiter | None
) -> None:
    """Turn two-factor sign-in off: needs the password and a code (app or recovery)."""
    user = await _active_user(uow, user_id)
    credential = await _enabled_credential(uow, user_id)
    # Counted before the password is checked, so that a stolen session cannot use this
    # form to guess the password quickly either.
    await _count_attempt(limiter, user_id)
    if not await asyncio.to_thread(security.verify_password, user.password_hash, password):
        raise InvalidInput.for_field("password", "is not your current password")
    if not await _accept_any_code(uow, credential, code):
        raise InvalidInput.for_field("code", WRONG_CODE)
    await repository.delete_two_factor(uow.session, user_id)


async def check_sign_in(
    uow: UnitOfWork, *, user: User, code: str | None, limiter: RateLimiter | None
) -> None:
    """The second factor of a log-in whose password was already verified (only then may
    the answer reveal that the account uses one). Accounts without it pass as they are."""
    credential = await repository.get_two_factor(uow.session, user.id)
    if credential is None or credential.enabled_at is None:
        return
    await _require_code(uow, credential, code, limiter)


async def complete_sign_in(
    uow: UnitOfWork, *, user_id: int, token_version: int, code: str, limiter: RateLimiter | None
) -> User:
    """The second step of a site log-in, whose password step passed moments ago. If the
    account changed since (password changed, deactivated, two-factor turned off), the
    log-in starts over."""
    user = await repository.get_user(uow.session, user_id)
    credential = await repository.get_two_factor(uow.session, user_id)
    if (
        user is None
        or not user.is_active
        or user.token_version != token_version
        or credential is None
        or credential.enabled_at is None
    ):
        raise AuthenticationFailed(SIGN_IN_ENDED)
    await _require_code(uow, credential, code, limiter)
    return user


async def _require_code(
    uow: UnitOfWork,
    credential: TwoFactorCredential,
    code: str | None,
    limiter: RateLimiter | None,
) -> None:
    if code is None or not code.strip():
        raise SecondFactorRequired(CODE_NEEDED)
    await _count_attempt(limiter, credential.user_id)
    if not await _accept_any_code(uow, credential, code):
        raise SecondFactorFailed(CODE_REFUSED)


async def _count_attempt(limiter: RateLimiter | None, user_id: int) -> None:
    if limiter is None:
        return
    decision = await limiter.check(limiter.policy.for_second_factor(account_id=user_id))
    if decision is not None and not decision.allowed:
        raise RateLimited(decision)


async def _accept_any_code(uow: UnitOfWork, credential: TwoFactorCredential, code: str) -> bool:
    return await _accept_app_code(uow, credential, code) or await _accept_recovery_code(
        uow, credential.user_id, code
    )


async def _accept_app_code(uow: UnitOfWork, credential: TwoFactorCredential, code: str) -> bool:
    """A code of the current time step (or one either side), newer than the last one used;
    accepting it records its step, so it is good once."""
    typed = _typed(code)
    if typed is None or not totp.is_totp_shaped(typed):
        return False
    secret = _unsealed(uow, credential)
    if secret is None:
        return False  # recovery codes still work: they are hashes, not sealed
    step = totp.matching_step(secret, typed)
    if step is None:
        return False
    if not await repository.claim_totp_step(uow.session, credential.user_id, step):
        return False
    if not sealed_secrets.is_sealed_under_first_key(uow.settings, credential.secret):
        credential.secret = sealed_secrets.reseal(uow.settings, credential.secret)  # rotated
    return True


def _unsealed(uow: UnitOfWork, credential: TwoFactorCredential) -> str | None:
    try:
        return sealed_secrets.unseal(uow.settings, credential.secret)
    except sealed_secrets.SecretUnreadable:
        # Loud: every code of this account is refused until the old key is listed again.
        log.error(
            "the two-factor secret of account %d opens with none of the keys in "
            "SNAPSCALE_TWO_FACTOR_KEYS (or the secret key changed): list the old key "
            "after the new one",
            credential.user_id,
        )
        return None


async def _accept_recovery_code(uow: UnitOfWork, user_id: int, code: str) -> bool:
    """An unused recovery code, which is spent by accepting it."""
    typed = _typed(code)
    if typed is None or not totp.is_recovery_code_shaped(typed):
        return False
    digest = totp.recovery_code_digest(user_id=user_id, code=typed)
    match = None
    for stored in await repository.unused_recovery_codes(uow.session, user_id):
        if hmac.compare_digest(stored.code_hash, digest):  # constant time, every one compared
            match = stored.id
    return match is not None and await repository.use_recovery_code(uow.session, match, utcnow())


def _typed(code: str) -> str | None:
    return totp.normalize(code) if len(code) <= totp.CODE_INPUT_MAX else None


async def _replace_recovery_codes(uow: UnitOfWork, user_id: int) -> RecoveryCodes:
    await repository.delete_recovery_codes(uow.session, user_id)
    codes = totp.new_recovery_codes()
    uow.session.add_all(
        RecoveryCode(
            id=new_id(),
            user_id=user_id,
            code_hash=totp.recovery_code_digest(user_id=user_id, code=code),
        )
        for code in codes
    )
    await uow.session.flush()
    return RecoveryCodes(recovery_codes=codes)


async def _enabled_credential(uow: UnitOfWork, user_id: int) -> TwoFactorCredential:
    credential = await repository.get_two_factor(uow.session, user_id)
    if credential is None or credential.enabled_at is None:
        raise Conflict(NOT_ON)
    return credential


async def _active_user(uow: UnitOfWork, user_id: int) -> User:
    user = await repository.get_user(uow.session, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such account.")
    return user


def _enrolment(user: User, secret: str) -> TwoFactorEnrolment:
    return TwoFactorEnrolment(
        secret=secret, otpauth_uri=totp.provisioning_uri(secret, account_name=user.username)
    )

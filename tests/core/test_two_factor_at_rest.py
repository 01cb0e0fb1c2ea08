"""Authenticator-app secrets at rest: the database holds them sealed, never as the app
needs them; keys rotate without locking anyone out; and a key lost by mistake refuses
app codes loudly while recovery codes still sign in."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from snapscale.config import Settings, SettingsError, load_settings
from snapscale.core.db import UnitOfWork
from snapscale.core.runtime import Runtime
from tests.support.two_factor import enrolled_account, logs_in, next_code

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()

RuntimeWithKeys = Callable[[str | None], AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def runtime_with_keys(settings: Settings) -> RuntimeWithKeys:
    """A runtime over the test's database with SNAPSCALE_TWO_FACTOR_KEYS set to ``keys``."""

    @asynccontextmanager
    async def start(keys: str | None) -> AsyncIterator[Runtime]:
        keyed = settings.model_copy(
            update={"two_factor_keys": SecretStr(keys) if keys is not None else None}
        )
        runtime = Runtime(keyed)
        try:
            yield runtime
        finally:
            await runtime.aclose()

    return start


async def _stored_secret(runtime: Runtime, user_id: int) -> str:
    async def read(uow: UnitOfWork) -> str:
        result = await uow.session.execute(
            text("SELECT secret FROM two_factor_credentials WHERE user_id = :id"), {"id": user_id}
        )
        return str(result.scalar_one())

    return await runtime.run(read)


async def test_the_database_holds_the_secret_sealed(runtime_with_keys):
    async with runtime_with_keys(None) as runtime:  # the key derived from the secret key
        account = await enrolled_account(runtime, "sealed")
        user_id, secret = account.user_id, account.secret
        stored = await _stored_secret(runtime, user_id)

        assert secret not in stored and secret.lower() not in stored
        assert len(stored) > 100  # a Fernet token, not a 32-character base32 secret
        assert await logs_in(runtime, "sealed", next_code(secret))


async def test_a_rotated_key_keeps_codes_working_and_seals_again_under_the_new_key(
    runtime_with_keys,
):
    async with runtime_with_keys(OLD_KEY) as before:
        account = await enrolled_account(before, "rotated")
        user_id, secret = account.user_id, account.secret
        sealed_before = await _stored_secret(before, user_id)
        assert Fernet(OLD_KEY.encode()).decrypt(sealed_before.encode()).decode() == secret

    async with runtime_with_keys(f"{NEW_KEY},{OLD_KEY}") as after:
        assert await logs_in(after, "rotated", next_code(secret))
        stored = await _stored_secret(after, user_id)

    # Sealed again under the new key alone: the old one can now be dropped.
    assert Fernet(NEW_KEY.encode()).decrypt(stored.encode()).decode() == secret


async def test_with_the_key_lost_app_codes_are_refused_loudly_and_recovery_codes_work(
    runtime_with_keys, caplog
):
    async with runtime_with_keys(OLD_KEY) as before:
        account = await enrolled_account(before, "forgetful")

    async with runtime_with_keys(NEW_KEY) as after:
        with caplog.at_level(logging.ERROR, logger="snapscale.core.accounts.two_factor"):
            refused = not await logs_in(after, "forgetful", next_code(account.secret))
        assert refused
        assert f"two-factor secret of account {account.user_id} opens with none of the" in (
            caplog.text
        )
        assert await logs_in(after, "forgetful", account.recovery_codes[0])


@pytest.mark.parametrize(
    ("value", "wrong"),
    [
        ("not-a-key", 1),
        (f"{NEW_KEY},short", 2),
        (base64.urlsafe_b64encode(b"k" * 31).decode(), 1),  # a byte short
    ],
)
def test_a_key_that_is_not_a_fernet_key_is_refused_by_name_without_showing_it(
    monkeypatch, value, wrong
):
    monkeypatch.setenv("SNAPSCALE_TWO_FACTOR_KEYS", value)

    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    assert f"SNAPSCALE_TWO_FACTOR_KEYS: key {wrong} is not a Fernet key" in message
    assert value not in message and "not-a-key" not in message


def test_keys_are_read_with_spaces_around_them_and_an_empty_value_means_unset(monkeypatch):
    monkeypatch.setenv("SNAPSCALE_TWO_FACTOR_KEYS", f" {NEW_KEY} , {OLD_KEY} ")
    keys = load_settings().two_factor_keys
    assert keys is not None and keys.get_secret_value() == f"{NEW_KEY},{OLD_KEY}"

    monkeypatch.setenv("SNAPSCALE_TWO_FACTOR_KEYS", "")
    assert load_settings().two_factor_keys is None

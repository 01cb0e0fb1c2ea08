"""The second factor's arithmetic (which codes count, what recovery codes look like), and
codes raced by concurrent requests: each is accepted exactly once."""

from __future__ import annotations

import asyncio

import pyotp

from snapscale.core.accounts import totp
from tests.support.two_factor import enrolled_account, logs_in, next_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MOMENT = 1_800_000_015.0  # 15 s into a step


def test_codes_of_the_current_step_and_one_either_side_are_accepted() -> None:
    app = pyotp.TOTP(SECRET)
    step = totp.current_step(MOMENT)

    for offset in (-1, 0, 1):
        code = app.at(MOMENT + offset * totp.STEP_SECONDS)
        assert totp.matching_step(SECRET, code, now=MOMENT) == step + offset
    for offset in (-3, -2, 2, 3):
        code = app.at(MOMENT + offset * totp.STEP_SECONDS)
        assert totp.matching_step(SECRET, code, now=MOMENT) is None


def test_what_people_type_is_compared_without_spaces_dashes_or_capitals() -> None:
    assert totp.normalize(" 123 456 ") == "123456"
    assert totp.normalize("ABCD-EFGH-JKMN") == "abcdefghjkmn"
    assert totp.is_totp_shaped("123456")
    assert not totp.is_totp_shaped("12345")
    assert not totp.is_totp_shaped("١٢٣٤٥٦")  # other scripts' digits are not a code
    assert totp.is_recovery_code_shaped("abcdefghjkmn")
    assert not totp.is_recovery_code_shaped("abcdefghjkm0")  # 0 is never in a code


def test_recovery_codes_are_ten_different_readable_codes() -> None:
    codes = totp.new_recovery_codes()

    assert len(set(codes)) == totp.RECOVERY_CODE_COUNT == 10
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4]
        assert totp.is_recovery_code_shaped(totp.normalize(code))
    digest = totp.recovery_code_digest(user_id=7, code=codes[0])
    assert digest == totp.recovery_code_digest(user_id=7, code=codes[0].upper())
    assert digest != totp.recovery_code_digest(user_id=8, code=codes[0])


def test_secrets_are_160_random_bits_for_the_named_account() -> None:
    first, second = totp.new_secret(), totp.new_secret()

    assert first != second
    assert len(first) == 32  # base32: 5 bits a character
    uri = totp.provisioning_uri(first, account_name="ada.l")
    assert uri.startswith("otpauth://totp/Snapscale:ada.l?")
    assert f"secret={first}" in uri and "issuer=Snapscale" in uri


async def test_one_app_code_raced_by_concurrent_log_ins_signs_in_once(runtime):
    secret = (await enrolled_account(runtime, "racer")).secret
    code = next_code(secret)

    results = await asyncio.gather(*(logs_in(runtime, "racer", code) for _ in range(4)))

    assert results.count(True) == 1


async def test_one_recovery_code_raced_by_concurrent_log_ins_signs_in_once(runtime):
    recovery_codes = (await enrolled_account(runtime, "twin")).recovery_codes

    results = await asyncio.gather(*(logs_in(runtime, "twin", recovery_codes[0]) for _ in range(4)))

    assert results.count(True) == 1

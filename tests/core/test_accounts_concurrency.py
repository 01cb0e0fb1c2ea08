"""Two people racing for the same name: exactly one wins, the other gets a clear 409."""

import asyncio

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Registration
from snapscale.core.errors import AuthenticationFailed, Conflict
from tests.support.factories import PASSWORD


async def test_concurrent_registrations_of_one_username(runtime):
    async def attempt(n: int) -> str:
        data = Registration(username="racer", email=f"racer{n}@example.com", password=PASSWORD)
        try:
            await runtime.run(account_service.register, data=data)
        except Conflict:
            return "conflict"
        return "created"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(5)))

    assert sorted(outcomes) == ["conflict"] * 4 + ["created"]


async def test_concurrent_refreshes_with_one_token_let_only_one_through(runtime):
    data = Registration(username="twin", email="twin@example.com", password=PASSWORD)
    await runtime.run(account_service.register, data=data)
    pair = await runtime.run(account_service.log_in, login="twin", password=PASSWORD)

    async def attempt() -> bool:
        try:
            await runtime.run(account_service.refresh, refresh_token=pair.refresh_token)
        except AuthenticationFailed:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(4)))

    assert results.count(True) == 1

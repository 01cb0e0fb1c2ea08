"""Dependencies shared by the routes: the unit of work and the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from snapscale.core.accounts import service as account_service
from snapscale.core.db import SAFE_METHODS, UnitOfWork
from snapscale.core.errors import AuthenticationFailed
from snapscale.core.models import User
from snapscale.core.pagination import MAX_LIMIT
from snapscale.core.runtime import Runtime
from snapscale.observability.context import bind_user

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)  # nosec B105
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request, committed when the route returns without error."""
    read_only = request.method in SAFE_METHODS
    async with get_runtime(request).unit_of_work(read_only=read_only) as uow:
        yield uow
        await uow.commit()


# scope="function": commit before the response is sent, so a failed commit is an error
# response and a success response means the data is stored.
UoW = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]


async def _current_user(uow: UoW, token: Annotated[str | None, Depends(_bearer)]) -> User:
    if token is None:
        raise AuthenticationFailed(
            "Sign in first: send the header 'Authorization: Bearer <token>'."
        )
    return await _signed_in(uow, token)


CurrentUser = Annotated[User, Depends(_current_user)]


async def _optional_user(uow: UoW, token: Annotated[str | None, Depends(_bearer)]) -> User | None:
    """The signed-in user when a token is sent (it must then be valid), else None."""
    if token is None:
        return None
    return await _signed_in(uow, token)


async def _signed_in(uow: UnitOfWork, token: str) -> User:
    user = await account_service.user_for_access_token(uow, token=token)
    bind_user(user.id)  # the request's log lines and access line name the account
    return user


OptionalUser = Annotated[User | None, Depends(_optional_user)]

Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]

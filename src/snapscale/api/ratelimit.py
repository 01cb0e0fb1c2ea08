"""Rate limits in the API.

Every request is counted per client address and per account by a pure ASGI middleware,
before any routing, body or database work, so a refused request costs next to nothing;
uploads are counted there too, before the photo's bytes are received. The log-in,
sign-up, token and password-change routes add their strict limits through dependencies
(the log-in limit per account needs the form, and the account the name resolves to), and
an email change counts against the sign-up budget. Whichever limit is strictest is what
the RateLimit headers of the response describe, on success as on a refusal (the
per-account log-in limit only once it refuses: see ``Limit.discreet``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapscale.api.deps import CurrentUser, UoW, get_runtime
from snapscale.api.problems import rate_limited_response
from snapscale.core.ratelimit import (
    Decision,
    Hit,
    Policy,
    RateLimited,
    is_exempt,
    limiter_for,
    log_in_account,
    strictest,
)
from snapscale.core.runtime import Runtime
from snapscale.core.security import read_access_token

# Where the request's decision waits for the response: in the scope itself, which is the
# request's own (a scope's "state" may be shared with the lifespan's).
DECISION = "snapscale.rate_limit"


class RateLimit:
    def __init__(self, app: ASGIApp, *, upload_path: str) -> None:
        self.app = app
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        limiter = limiter_for(runtime)
        if limiter is None:
            await self.app(scope, receive, send)
            return
        account_id = _account_id(scope, runtime)
        hits = limiter.policy.for_request(client=client_address(scope), account_id=account_id)
        if account_id is not None and self._is_upload(scope):
            hits += limiter.policy.for_upload(account_id=account_id)
        decision = record(scope, await limiter.check(hits))
        if decision is not None and not decision.allowed:
            response = rate_limited_response(Request(scope), RateLimited(decision))
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            final: Decision | None = scope.get(DECISION)
            if message["type"] == "http.response.start" and final is not None:
                headers = MutableHeaders(scope=message)
                if "ratelimit-limit" not in headers:  # a refusal already carries its own
                    headers.update(final.headers())
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _is_upload(self, scope: Scope) -> bool:
        return bool(scope["method"] == "POST" and scope["path"] == self.upload_path)


def client_address(scope: Scope) -> str | None:
    """The client's address, as the trusted-proxy middleware left it (None on a unix
    socket that no trusted proxy spoke for)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def record(scope: Scope, decision: Decision | None) -> Decision | None:
    """Keep the strictest decision taken for this request so far, and return it."""
    final = strictest(scope.get(DECISION), decision)
    scope[DECISION] = final
    return final


def _account_id(scope: Scope, runtime: Runtime) -> int | None:
    """The account of a valid bearer token. Only its signature is checked, no database:
    a revoked token still counts against its account, which is the safe side."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            claims = read_access_token(token.strip(), key=runtime.settings.signing_key)
            return claims.user_id if claims is not None else None
    return None


async def _enforce(request: Request, select: Callable[[Policy, str | None], list[Hit]]) -> None:
    limiter = limiter_for(get_runtime(request))
    if limiter is None:
        return
    hits = select(limiter.policy, client_address(request.scope))
    decision = record(request.scope, await limiter.check(hits))
    if decision is not None and not decision.allowed:
        raise RateLimited(decision)


async def limit_log_in(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UoW
) -> None:
    if limiter_for(get_runtime(request)) is None:
        return
    account_id = await log_in_account(uow, login=form.username)
    await _enforce(
        request,
        lambda policy, client: policy.for_log_in(
            client=client, login=form.username, account_id=account_id
        ),
    )


async def limit_password_check(request: Request, user: CurrentUser) -> None:
    await _enforce(
        request,
        lambda policy, client: policy.for_password_check(client=client, account_id=user.id),
    )


async def limit_email_change(request: Request) -> None:
    """Counted only when the email really changes, before anyone is told it is in use."""
    await _enforce(request, lambda policy, client: policy.for_email_change(client=client))


async def limit_registration(request: Request) -> None:
    await _enforce(request, lambda policy, client: policy.for_registration(client=client))


async def limit_refresh(request: Request) -> None:
    await _enforce(request, lambda policy, client: policy.for_refresh(client=client))

"""Rate limits on the site: the same policy and counters as the API.

Every page is counted per client address and per signed-in account; posting the log-in
form also per address and per account (its username and email alike), its code step
(two-factor sign-in) per address, the sign-up form per address, and the upload form per
account, before its file is read. Changing the password counts as a log-in attempt (it
checks the current one), and changing the email as a sign-up (both tell whether an email
is in use). A refusal is a readable 429 page (see errors.py); every counted response
carries the RateLimit headers.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from werkzeug.wrappers import Response

from snapscale.core.accounts import service as account_service
from snapscale.core.errors import NotFound
from snapscale.core.ratelimit import (
    Decision,
    Hit,
    RateLimited,
    is_exempt,
    limiter_for,
    log_in_account,
    per_address,
)
from snapscale.web.core_access import SiteCore, site_core

LOG_IN = "accounts.login"
LOG_IN_CODE = "two_factor.log_in_code"
SIGN_UP = "accounts.signup"
UPLOAD = "photos.upload"
CHANGE_PASSWORD = "accounts.change_password"  # noqa: S105 (an endpoint name)  # nosec B105
UPDATE_PROFILE = "accounts.update_profile"


def install(app: Flask) -> None:
    app.before_request(enforce_rate_limits)
    app.after_request(add_rate_limit_headers)


def enforce_rate_limits() -> None:
    if request.endpoint == "static" or is_exempt(request.path):
        return
    core = site_core()
    limiter = limiter_for(core.runtime)
    if limiter is None:
        return
    policy = limiter.policy
    client = request.remote_addr or None  # none on a unix socket without a trusted proxy
    account_id = _signed_in_account()
    hits: list[Hit] = policy.for_request(client=client, account_id=account_id)
    if request.method == "POST":
        if request.endpoint == LOG_IN:
            login = request.form.get("login", "")
            # Resolved first, so the username and the email share the account's budget.
            named = core.bridge.call(core.runtime.read, log_in_account, login=login)
            hits += policy.for_log_in(client=client, login=login, account_id=named)
        elif request.endpoint == LOG_IN_CODE:
            # The code step is a log-in attempt from this address too (the core counts
            # it against the account as well).
            hits += per_address(policy.log_in_per_ip, client)
        elif request.endpoint == SIGN_UP:
            hits += policy.for_registration(client=client)
        elif request.endpoint == UPLOAD and account_id is not None:
            hits += policy.for_upload(account_id=account_id)
        elif request.endpoint == CHANGE_PASSWORD and account_id is not None:
            hits += policy.for_password_check(client=client, account_id=account_id)
        elif (
            request.endpoint == UPDATE_PROFILE
            and account_id is not None
            and _changes_email(core, account_id)
        ):
            hits += policy.for_email_change(client=client)
    decision = core.bridge.call(limiter.check, hits)
    g.rate_limit = decision
    if decision is not None and not decision.allowed:
        raise RateLimited(decision)


def add_rate_limit_headers(response: Response) -> Response:
    decision: Decision | None = g.get("rate_limit")
    if decision is not None and "RateLimit-Limit" not in response.headers:
        response.headers.update(decision.headers())
    return response


def _signed_in_account() -> int | None:
    """The account the session names, without loading it: Flask-Login keeps
    "<id>:<token version>" in the (server-side, so unforgeable) session."""
    user_id, _, _ = str(session.get("_user_id", "")).partition(":")
    return int(user_id) if user_id.isdigit() else None


def _changes_email(core: SiteCore, account_id: int) -> bool:
    """Whether the profile form asks for an email other than the account's: only then
    can the answer be "in use", so only then is it counted."""
    wanted = request.form.get("email", "").strip().lower()
    if not wanted:
        return False
    try:
        account = core.bridge.call(
            core.runtime.read, account_service.get_account, user_id=account_id
        )
    except NotFound:
        return False
    return wanted != account.email.lower()

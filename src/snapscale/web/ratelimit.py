"""Rate limits on the site: the same policy and counters as the API.

Every page is counted per client address and per signed-in account; posting the log-in
form also per address and per account name, the sign-up form per address, and the upload
form per account, before its file is read. A refusal is a readable 429 page (see
errors.py); every counted response carries the RateLimit headers.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from werkzeug.wrappers import Response

from snapscale.core.ratelimit import Decision, Hit, RateLimited, is_exempt, limiter_for
from snapscale.web.core_access import site_core

LOG_IN = "accounts.login"
SIGN_UP = "accounts.signup"
UPLOAD = "photos.upload"


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
            hits += policy.for_log_in(client=client, login=request.form.get("login", ""))
        elif request.endpoint == SIGN_UP:
            hits += policy.for_registration(client=client)
        elif request.endpoint == UPLOAD and account_id is not None:
            hits += policy.for_upload(account_id=account_id)
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

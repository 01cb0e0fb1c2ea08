"""Readable error pages for every failure; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from snapscale.core.errors import DomainError
from snapscale.core.ratelimit import RateLimited
from snapscale.web.sessions import session_store_is_down

log = logging.getLogger(__name__)

_TITLES = {404: "Page not found", 405: "Not allowed here", 413: "Too much at once"}

_MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is nothing here. The link may be broken, or the page may have been removed.",
    405: "That page cannot be used that way.",
    413: "That is more than we accept in one request.",
}


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, message=message), status


def http_error_page(error: HTTPException) -> tuple[str, int]:
    """The readable page for an HTTP error below 500 (werkzeug's, or an ``abort``)."""
    status = error.code or 500
    return error_page(
        status, _TITLES.get(status, error.name), _MESSAGES.get(status, error.description or "")
    )


def install(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        if session_store_is_down():
            return error_page(
                503,
                "Signing in is paused",
                "We cannot reach our session store right now. You can keep browsing; "
                "please try this again in a minute.",
            )
        return error_page(
            400,
            "Your form expired",
            "For your safety, forms only work for a while and only from this site. "
            "Go back, reload the page, and try again.",
        )

    @app.errorhandler(RateLimited)
    def rate_limited(error: RateLimited) -> tuple[str, int, dict[str, str]]:
        page = render_template("rate_limited.html", decision=error.decision)
        return page, 429, error.decision.headers()

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[str, int]:
        return error_page(error.status, error.title, error.detail)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        if (error.code or 500) >= 500:
            return unexpected(error)
        return http_error_page(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        if not isinstance(error, InternalServerError):
            log.exception("unhandled error", exc_info=error)
        return error_page(
            500,
            "Something went wrong",
            "We hit an error on our side and have logged it. Please try again in a moment.",
        )

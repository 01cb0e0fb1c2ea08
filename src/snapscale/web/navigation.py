"""Where a form sends people afterwards: back to the page they were on, on this site only."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

# The hidden field every "do something, then come back" form carries.
NEXT_FIELD = "next"


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only same-site paths: a crafted ``next`` must not send people to another site.

    Browsers read "//host", "///host" and "/\\host" as another site and drop tabs and
    newlines first, so a path must start with exactly one "/" and hold no backslash or
    control character."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not urlsplit(target).netloc
    ):
        return target
    return default or url_for("main.home")


def here(fragment: str = "") -> str:
    """This page's path and query, to come back to after a form (optionally to an anchor)."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def back(default: str) -> Response:
    """See-other to the page the form came from (its ``next`` field), else ``default``."""
    return redirect(safe_next(request.form.get(NEXT_FIELD), default), 303)


def to_log_in(default: str, message: str = "Log in to do that.") -> Response:
    """A signed-out visitor posted a form: log in first, then return to where they were."""
    flash(message, "info")
    return redirect(
        url_for("accounts.login", next=safe_next(request.form.get(NEXT_FIELD), default)), 303
    )

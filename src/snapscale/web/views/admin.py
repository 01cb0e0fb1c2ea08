"""The admin area: a live dashboard, and moderation (find an account, deactivate or
reactivate it, remove a photo).

Administrators only: a signed-out visitor is sent to log in, anyone else gets a 403. Every
change is a POST form with the CSRF token, reached through a confirmation page, so all of
it works without JavaScript; static/admin.js only keeps the dashboard's figures and charts
fresh by polling ``/admin/stats.json``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import Account
from snapscale.core.admin import service as admin_service
from snapscale.core.admin.schemas import Dashboard, ModeratedUser
from snapscale.core.errors import InvalidInput, NotFound
from snapscale.core.photos import service as photo_service
from snapscale.web.core_access import run, site_core
from snapscale.web.errors import error_page
from snapscale.web.forms import ActionForm
from snapscale.web.views.photos import parse_id

bp = Blueprint("admin", __name__, url_prefix="/admin")

REFRESH_SECONDS = 5
PHOTOS_PER_PAGE = 24
NO_VALUE = "\N{EM DASH}"  # a figure with nothing to measure yet (no requests)
# A photo's id, alone or at the end of its page's address (/p/<id>, with or without host).
MAX_REFERENCE = 2048  # longer is no link of ours (and would be slow to match)
_PHOTO_REFERENCE = re.compile(r"\s*(?:\S*/p/)?([0-9]{1,19})/?(?:[?#]\S*)?\s*")

Html = str | tuple[str, int]


@bp.before_request
def administrators_only() -> Response | tuple[Any, int] | None:
    if request.endpoint == "admin.stats":  # polled by a script: answer in JSON
        if not current_user.is_authenticated:
            return {"error": "Log in as an administrator to see these figures."}, 401
        if not current_user.is_admin:
            return {"error": "These figures are for administrators only."}, 403
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined,no-any-return]
    if not current_user.is_admin:
        return error_page(
            403, "Administrators only", "This part of Snapscale is for its administrators."
        )
    return None


@bp.after_request
def never_cached(response: Response) -> Response:
    """Figures and account details are for this administrator, now: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


# Dashboard


@bp.get("")
def dashboard() -> str:
    figures = _dashboard()
    return render_template(
        "admin/dashboard.html",
        dashboard=figures,
        display=display_figures(figures),
        minutes=[
            {
                "minute": f"{point.minute:%H:%M}",
                "requests": f"{point.requests:,}",
                "errors": f"{point.errors:,}",
                "p99": _milliseconds(point.p99_ms),
                "uploads": f"{point.uploads:,}",
            }
            for point in reversed(figures.series)
        ],
        refresh_seconds=REFRESH_SECONDS,
    )


@bp.get("/stats.json")
def stats() -> dict[str, Any]:
    figures = _dashboard()
    return {**figures.model_dump(mode="json"), "display": display_figures(figures)}


def _dashboard() -> Dashboard:
    return run(
        admin_service.dashboard,
        admin_id=current_user.id,
        live_stats=site_core().runtime.live_stats,
    )


def display_figures(figures: Dashboard) -> dict[str, str]:
    """Each figure as the page shows it; the script puts the same text in place."""
    requests, users, photos, jobs = figures.requests, figures.users, figures.photos, figures.jobs
    return {
        "scope": _scope(figures.shared),
        "requests_per_minute": _rate(requests.per_minute),
        "error_rate": _percent(requests.error_rate),
        "p99": _milliseconds(requests.p99_ms),
        "uploads_per_minute": _rate(figures.uploads_per_minute),
        "users_total": f"{users.total:,}",
        "users_new": f"{users.new_last_day:,}",
        "users_active": f"{users.active:,}",
        "photos_total": f"{photos.total:,}",
        "photos_ready": f"{photos.ready:,}",
        "photos_processing": f"{photos.processing:,}",
        "photos_failed": f"{photos.failed:,}",
        "jobs_waiting": f"{jobs.depth:,}" if jobs.depth is not None else "unknown",
        "jobs_oldest": _age(jobs.oldest_age_seconds) if jobs.known else "unknown",
        "updated": f"{figures.generated_at:%H:%M:%S} UTC",
    }


def _scope(shared: bool) -> str:
    if shared:
        return "Requests from all servers"
    if site_core().runtime.settings.redis_url:
        return "Requests from this server only: Redis is unreachable"
    return "Requests from this server"


def _rate(per_minute: float) -> str:
    return f"{per_minute:,.0f}" if per_minute >= 10 else f"{per_minute:.1f}".removesuffix(".0")


def _percent(share: float | None) -> str:
    if share is None:
        return NO_VALUE
    percent = share * 100
    return f"{percent:.2f}%" if 0 < percent < 1 else f"{percent:.1f}%".replace(".0%", "%")


def _milliseconds(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# Moderation


@bp.get("/users")
def users() -> Html:
    """Find an account by the start of its username, or a photo by its link."""
    query = request.args.get("q", "")
    found = run(admin_service.find_users, admin_id=current_user.id, prefix=query)
    return render_template("admin/users.html", query=query, found=found, photo_reference="")


@bp.get("/photos")
def find_photo() -> Response | Html:
    reference = request.args.get("ref", "")
    match = _PHOTO_REFERENCE.fullmatch(reference) if len(reference) <= MAX_REFERENCE else None
    if match is None:
        flash("Paste a photo's link (…/p/123…) or its number.", "error")
        page = render_template("admin/users.html", query="", found=None, photo_reference=reference)
        return page, 422
    return redirect(url_for("admin.remove_photo", photo_id=match.group(1)))


@bp.get("/users/<username>")
def user(username: str) -> str:
    account = _moderated(username)
    cursor = request.args.get("cursor")
    try:
        photos = run(
            admin_service.user_photos,
            admin_id=current_user.id,
            user_id=account.id,
            cursor=cursor,
            limit=PHOTOS_PER_PAGE,
        )
    except InvalidInput:  # a "More photos" link that was tampered with
        abort(404)
    return render_template(
        "admin/user.html", account=account, photos=photos, later=cursor is not None
    )


# deactivate or reactivate, as the core has them.
AccountChange = Callable[..., Awaitable[Account]]


@bp.route("/users/<username>/deactivate", methods=["GET", "POST"])
def deactivate(username: str) -> Response | Html:
    account = _moderated(username)
    if account.id == current_user.id:
        return error_page(
            422,
            "You cannot deactivate yourself",
            "Another administrator can, if this account must be stopped.",
        )
    return _confirmed(
        account,
        "deactivate",
        account_service.deactivate,
        "is deactivated: signed out everywhere, and their profile and photos are hidden.",
    )


@bp.route("/users/<username>/reactivate", methods=["GET", "POST"])
def reactivate(username: str) -> Response | Html:
    return _confirmed(
        _moderated(username),
        "reactivate",
        account_service.reactivate,
        "is active again: they can log in, and their profile and photos are shown.",
    )


def _confirmed(
    account: ModeratedUser, action: str, change: AccountChange, outcome: str
) -> Response | Html:
    """The confirmation page on GET; on a confirmed POST, the change and its outcome."""
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template(
            "admin/confirm_account.html", account=account, form=form, action=action
        )
    run(change, user_id=account.id, admin_id=current_user.id)
    flash(f"@{account.username} {outcome}", "success")
    return redirect(url_for("admin.user", username=account.username), 303)


@bp.route("/photos/<photo_id>/remove", methods=["GET", "POST"])
def remove_photo(photo_id: str) -> Response | Html:
    try:
        photo = run(
            admin_service.moderated_photo, admin_id=current_user.id, photo_id=parse_id(photo_id)
        )
    except NotFound:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template("admin/confirm_photo.html", photo=photo, form=form)
    run(photo_service.remove_photo, photo_id=photo.id, admin_id=current_user.id)
    flash(f"The photo by @{photo.owner.username} is removed.", "success")
    return redirect(url_for("admin.user", username=photo.owner.username), 303)


def _moderated(username: str) -> ModeratedUser:
    try:
        return run(admin_service.moderated_user, admin_id=current_user.id, username=username)
    except NotFound:
        abort(404)

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from snapscale.core.accounts import service as account_service
from snapscale.core.errors import NotFound
from snapscale.core.pagination import DEFAULT_LIMIT
from snapscale.web.core_access import run

bp = Blueprint("profiles", __name__)


@bp.get("/u/<username>")
def show(username: str) -> str:
    try:
        profile = run(account_service.get_public_profile, username=username)
    except NotFound:
        abort(404)
    return render_template("profiles/profile.html", profile=profile)


@bp.get("/people")
def people() -> str:
    page = run(account_service.list_users, cursor=request.args.get("cursor"), limit=DEFAULT_LIMIT)
    return render_template("profiles/people.html", page=page)

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from snapscale.core.accounts import service as account_service
from snapscale.core.errors import InvalidInput, NotFound
from snapscale.core.pagination import DEFAULT_LIMIT
from snapscale.core.photos import service as photo_service
from snapscale.web.core_access import run

bp = Blueprint("profiles", __name__)

PHOTOS_PER_PAGE = 18  # six full rows of the three-column grid


@bp.get("/u/<username>")
def show(username: str) -> str:
    try:
        profile = run(account_service.get_public_profile, username=username)
        photos = run(
            photo_service.list_user_photos,
            username=profile.username,
            viewer_id=current_user.id if current_user.is_authenticated else None,
            cursor=request.args.get("cursor"),
            limit=PHOTOS_PER_PAGE,
        )
    except (NotFound, InvalidInput):  # InvalidInput: a "More photos" link that was tampered with
        abort(404)
    return render_template("profiles/profile.html", profile=profile, photos=photos)


@bp.get("/people")
def people() -> str:
    page = run(account_service.list_users, cursor=request.args.get("cursor"), limit=DEFAULT_LIMIT)
    return render_template("profiles/people.html", page=page)

"""The home page (the landing page, or the signed-in reader's feed) and Explore."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from snapscale.core.accounts import service as account_service
from snapscale.core.errors import InvalidInput
from snapscale.core.feed import explore as explore_service
from snapscale.core.feed import service as feed_service
from snapscale.web.core_access import run

bp = Blueprint("main", __name__)

NEWEST_MEMBERS = 12
NEWEST_MEMBERS_BESIDE_FEED = 5
FEED_PAGE = 10
EXPLORE_PAGE = 24  # eight full rows of the three-column grid


@bp.get("/")
def home() -> str:
    if not current_user.is_authenticated:
        newest = run(account_service.list_users, cursor=None, limit=NEWEST_MEMBERS)
        return render_template("home.html", newest=newest.items)
    cursor = request.args.get("cursor")
    try:
        feed = run(
            feed_service.read_feed, reader_id=current_user.id, cursor=cursor, limit=FEED_PAGE
        )
    except InvalidInput:  # an "Older photos" link that was tampered with
        abort(404)
    newest = run(account_service.list_users, cursor=None, limit=NEWEST_MEMBERS_BESIDE_FEED + 1)
    return render_template(
        "feed/home.html",
        feed=feed,
        older=cursor is not None,
        newest=[person for person in newest.items if person.id != current_user.id][
            :NEWEST_MEMBERS_BESIDE_FEED
        ],
    )


@bp.get("/explore")
def explore() -> str:
    try:
        page = run(
            explore_service.explore,
            viewer_id=current_user.id if current_user.is_authenticated else None,
            cursor=request.args.get("cursor"),
            limit=EXPLORE_PAGE,
        )
    except InvalidInput:
        abort(404)
    return render_template("feed/explore.html", page=page, later=bool(request.args.get("cursor")))

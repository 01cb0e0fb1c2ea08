"""Profiles with their photo grid, who follows whom, and the list of everyone."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal, Protocol

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import PublicProfile
from snapscale.core.db import UnitOfWork
from snapscale.core.errors import InvalidInput, NotFound
from snapscale.core.pagination import DEFAULT_LIMIT, Page
from snapscale.core.photos import service as photo_service
from snapscale.core.social import service as social_service
from snapscale.web.core_access import run

bp = Blueprint("profiles", __name__)

PHOTOS_PER_PAGE = 18  # six full rows of the three-column grid


class PeopleOf(Protocol):
    def __call__(
        self, uow: UnitOfWork, /, *, username: str, cursor: str | None, limit: int
    ) -> Awaitable[Page[PublicProfile]]: ...


@bp.get("/u/<username>")
def show(username: str) -> str:
    viewer_id = current_user.id if current_user.is_authenticated else None
    try:
        profile = run(account_service.get_public_profile, username=username)
        photos = run(
            photo_service.list_user_photos,
            username=profile.username,
            viewer_id=viewer_id,
            cursor=request.args.get("cursor"),
            limit=PHOTOS_PER_PAGE,
        )
        following = (
            run(social_service.is_following, follower_id=viewer_id, username=profile.username)
            if viewer_id is not None and viewer_id != profile.id
            else None
        )
    except (NotFound, InvalidInput):  # InvalidInput: a "More photos" link that was tampered with
        abort(404)
    return render_template(
        "profiles/profile.html", profile=profile, photos=photos, following=following
    )


@bp.get("/u/<username>/followers")
def followers(username: str) -> str:
    return _people_of(username, "followers", social_service.list_followers)


@bp.get("/u/<username>/following")
def following(username: str) -> str:
    return _people_of(username, "following", social_service.list_following)


@bp.get("/people")
def people() -> str:
    page = run(account_service.list_users, cursor=request.args.get("cursor"), limit=DEFAULT_LIMIT)
    return render_template("profiles/people.html", page=page)


def _people_of(
    username: str,
    which: Literal["followers", "following"],
    service: PeopleOf,
) -> str:
    try:
        profile = run(account_service.get_public_profile, username=username)
        page = run(
            service,
            username=profile.username,
            cursor=request.args.get("cursor"),
            limit=DEFAULT_LIMIT,
        )
    except (NotFound, InvalidInput):
        abort(404)
    return render_template(
        "profiles/connections.html",
        profile=profile,
        which=which,
        page=page,
        later=bool(request.args.get("cursor")),
    )

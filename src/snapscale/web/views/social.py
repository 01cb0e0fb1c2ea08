"""Following, likes and comments: buttons and a form, each back to the page it was on.

Every form here is a plain POST with the CSRF token and a ``next`` field naming the page
(and the spot on it) to return to, so all of it works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user
from pydantic import ValidationError
from werkzeug.wrappers import Response

from snapscale.core.errors import InvalidInput, NotFound
from snapscale.core.social import service as social_service
from snapscale.core.social.schemas import NewComment
from snapscale.web.core_access import run
from snapscale.web.errors import error_page
from snapscale.web.forms import CommentForm, show_errors
from snapscale.web.navigation import back, to_log_in
from snapscale.web.views.photos import load_photo, parse_id, photo_page

bp = Blueprint("social", __name__)


@bp.post("/u/<username>/follow")
def follow(username: str) -> Response | tuple[str, int]:
    profile_page = url_for("profiles.show", username=username)
    if not current_user.is_authenticated:
        return to_log_in(profile_page, "Log in to follow people.")
    try:
        run(social_service.follow, follower_id=current_user.id, username=username)
    except NotFound:
        abort(404)
    except InvalidInput:  # the only thing the core refuses here: following yourself
        return error_page(
            422,
            "You cannot follow yourself",
            "Your own photos are always in your feed. Find people to follow on Explore.",
        )
    flash(f"You are following @{username.lower()}.", "success")
    return back(profile_page)


@bp.post("/u/<username>/unfollow")
def unfollow(username: str) -> Response:
    profile_page = url_for("profiles.show", username=username)
    if not current_user.is_authenticated:
        return to_log_in(profile_page, "Log in to follow people.")
    try:
        run(social_service.unfollow, follower_id=current_user.id, username=username)
    except NotFound:
        abort(404)
    flash(f"You are no longer following @{username.lower()}.", "info")
    return back(profile_page)


@bp.post("/p/<photo_id>/like")
def like(photo_id: str) -> Response:
    return _like(photo_id, liked=True)


@bp.post("/p/<photo_id>/unlike")
def unlike(photo_id: str) -> Response:
    return _like(photo_id, liked=False)


def _like(photo_id: str, *, liked: bool) -> Response:
    photo_page_url = url_for("photos.show", photo_id=photo_id)
    if not current_user.is_authenticated:
        return to_log_in(photo_page_url, "Log in to like photos.")
    service = social_service.like if liked else social_service.unlike
    try:
        run(service, photo_id=parse_id(photo_id), user_id=current_user.id)
    except NotFound:
        abort(404)
    return back(photo_page_url)


@bp.post("/p/<photo_id>/comments")
def add_comment(photo_id: str) -> Response | tuple[str, int]:
    comments_url = url_for("photos.show", photo_id=photo_id, _anchor="comments")
    if not current_user.is_authenticated:
        return to_log_in(comments_url, "Log in to comment.")
    form = CommentForm()
    if form.validate_on_submit():
        try:
            comment = NewComment(text=form.text.data or "")
            posted = run(
                social_service.add_comment,
                photo_id=parse_id(photo_id),
                author_id=current_user.id,
                comment=comment,
            )
        except NotFound:
            abort(404)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Your comment is posted.", "success")
            return redirect(
                url_for("photos.show", photo_id=photo_id, _anchor=f"comment-{posted.id}"), 303
            )
    return photo_page(load_photo(photo_id), comment_form=form), 422


@bp.post("/comments/<comment_id>/delete")
def delete_comment(comment_id: str) -> Response:
    if not current_user.is_authenticated:
        return to_log_in(url_for("main.home"), "Log in to do that.")
    try:
        run(social_service.delete_comment, comment_id=parse_id(comment_id), user_id=current_user.id)
    except NotFound:
        abort(404)
    flash("The comment is deleted.", "info")
    return back(url_for("main.home"))

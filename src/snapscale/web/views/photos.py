"""Uploading a photo, its page, and the owner's edits.

The upload form works without JavaScript (a plain multipart POST, then a redirect);
static/upload.js posts the same form with a progress bar when scripts run."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from snapscale.core.errors import DomainError, InvalidInput, NotFound, Unavailable
from snapscale.core.ids import MAX_ID
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import PhotoOut, PhotoUpdate, RenditionOut, Upload
from snapscale.core.social import service as social_service
from snapscale.web.core_access import run, site_core
from snapscale.web.errors import http_error_page
from snapscale.web.forms import (
    ActionForm,
    CaptionForm,
    CommentForm,
    UploadForm,
    show_errors,
)

bp = Blueprint("photos", __name__)

# Room for the multipart framing, the caption and the CSRF token around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024
UPLOADED = "Uploaded. We're preparing your photo…"
STORE_DOWN = (
    "We could not store your photo just now. Nothing was saved; please try again in a minute."
)
# Sent by static/upload.js: it wants the photo's address back, not a redirect it would
# follow itself (that would show, and so use up, the "Uploaded" message out of sight).
SCRIPT_HEADER = "X-Requested-With"

COMMENTS_PER_PAGE = 30

_PHOTO_ID = re.compile(r"[0-9]{1,19}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def upload_limit() -> int:
    """The largest upload request body: the core's file limit and the form around it."""
    return site_core().runtime.settings.upload_max_bytes + MULTIPART_ALLOWANCE


def allow_photo_uploads() -> None:
    """Let the upload form carry a whole photo; every other form keeps the site's small limit.

    Must run before CSRFProtect's check: that reads the form, which is when the limit bites."""
    if request.endpoint == "photos.upload":
        request.max_content_length = upload_limit()


@bp.route("/upload", methods=["GET", "POST"])
@login_required
def upload() -> Response | tuple[str | dict[str, str], int]:
    form = UploadForm()
    status = 422
    if form.validate_on_submit():
        try:
            data = Upload(data=form.file.data.read(), caption=form.caption.data or "")
            photo, _ = run(photo_service.upload, owner_id=current_user.id, data=data)
        except Unavailable:
            form.form_errors.append(STORE_DOWN)
            status = 503
        except (ValidationError, DomainError) as error:
            _show_upload_errors(form, error)
            status = error.status if isinstance(error, DomainError) else 422
        else:
            flash(UPLOADED, "success")
            location = url_for("photos.show", photo_id=photo.id)
            if request.headers.get(SCRIPT_HEADER) == "XMLHttpRequest":
                return {"location": location}, 200
            return redirect(location, 303)
    if not form.is_submitted():
        status = 200
    return _upload_page(form), status


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """A photo over the limit is refused before it is read: say so on a fresh form."""
    if request.endpoint != "photos.upload":
        return http_error_page(error)  # a caption edit the size of a book, say
    form = UploadForm(formdata=None)
    limit = site_core().runtime.settings.upload_max_bytes
    form.file.errors = [f"The file is larger than the {describe_size(limit)} limit."]
    return _upload_page(form), 413


@bp.get("/p/<photo_id>")
def show(photo_id: str) -> str:
    return photo_page(load_photo(photo_id))


@bp.post("/p/<photo_id>/caption")
@login_required
def edit_caption(photo_id: str) -> Response | tuple[str, int]:
    form = CaptionForm()
    if form.validate_on_submit():
        try:
            changes = PhotoUpdate(caption=form.caption.data or "")
            run(
                photo_service.update_photo,
                photo_id=parse_id(photo_id),
                user_id=current_user.id,
                changes=changes,
            )
        except NotFound:
            abort(404)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Your caption is saved.", "success")
            return redirect(url_for("photos.show", photo_id=photo_id), 303)
    photo = load_photo(photo_id)
    if photo.owner.id != current_user.id:
        abort(403)
    return photo_page(photo, caption_form=form, editing=True), 422


@bp.post("/p/<photo_id>/delete")
@login_required
def delete(photo_id: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(photo_service.delete_photo, photo_id=parse_id(photo_id), user_id=current_user.id)
    except NotFound:
        abort(404)
    flash("Your photo is deleted.", "info")
    return redirect(url_for("profiles.show", username=current_user.username), 303)


@bp.app_template_global()
def photo_colour(photo: PhotoOut) -> str | None:
    """The placeholder colour, only if it is plainly one (it goes into a style attribute)."""
    colour = photo.placeholder.color if photo.placeholder else None
    return colour if colour and _COLOUR.fullmatch(colour) else None


@bp.app_template_global()
def photo_alt(photo: PhotoOut, length: int = 200) -> str:
    caption = " ".join(photo.caption.split())
    if not caption:
        return f"Photo by @{photo.owner.username}"
    return caption if len(caption) <= length else caption[: length - 1].rstrip() + "…"


@bp.app_template_global()
def photo_srcset(photo: PhotoOut) -> str:
    return ", ".join(f"{r.url} {r.width}w" for r in image_candidates(photo))


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, size // 1024)} KB"


def image_candidates(photo: PhotoOut) -> list[RenditionOut]:
    """The renditions a browser may pick from, narrowest first, one per width.

    The square thumbnail is a crop, so it is offered only when the photo itself is square."""
    if not photo.renditions:
        return []
    shape = photo.width / photo.height
    by_width: dict[int, RenditionOut] = {}
    for rendition in photo.renditions.values():
        if abs(rendition.width / rendition.height - shape) <= 0.02 * shape:
            by_width.setdefault(rendition.width, rendition)
    return [by_width[width] for width in sorted(by_width)]


def _show_upload_errors(form: UploadForm, error: ValidationError | DomainError) -> None:
    """The core's words go under the file field, unless they are about the caption."""
    if isinstance(error, DomainError) and not error.errors:
        form.file.errors = [*form.file.errors, error.detail]
    else:
        show_errors(form, error)


def _upload_page(form: UploadForm) -> str:
    limit = site_core().runtime.settings.upload_max_bytes
    return render_template(
        "photos/upload.html",
        form=form,
        max_bytes=limit,
        max_size=describe_size(limit),
    )


def photo_page(
    photo: PhotoOut,
    *,
    caption_form: CaptionForm | None = None,
    comment_form: CommentForm | None = None,
    editing: bool = False,
) -> str:
    """The photo page; a form sent back with errors is shown in place of the blank one."""
    candidates = image_candidates(photo)
    display = photo.renditions.get("medium") if photo.renditions else None
    if display is None and candidates:
        display = candidates[-1]
    viewer_id = current_user.id if current_user.is_authenticated else None
    comments_cursor = request.args.get("comments") if request.method == "GET" else None
    comments = None
    if photo.status == "ready":
        try:
            comments = run(
                social_service.list_comments,
                photo_id=photo.id,
                viewer_id=viewer_id,
                cursor=comments_cursor,
                limit=COMMENTS_PER_PAGE,
            )
        except InvalidInput:  # a "More comments" link that was tampered with
            abort(404)
    return render_template(
        "photos/photo.html",
        photo=photo,
        display=display,
        srcset=photo_srcset(photo),
        own=viewer_id is not None and photo.owner.id == viewer_id,
        caption_form=caption_form or CaptionForm(formdata=None, data={"caption": photo.caption}),
        comment_form=comment_form or CommentForm(formdata=None),
        comments=comments,
        later_comments=comments_cursor is not None,
        editing=editing,
    )


def parse_id(photo_id: str) -> int:
    """Ids are decimal strings; anything else (or too big for an id) is no page at all."""
    if not _PHOTO_ID.fullmatch(photo_id) or int(photo_id) > MAX_ID:
        abort(404)
    return int(photo_id)


def load_photo(photo_id: str) -> PhotoOut:
    viewer_id = current_user.id if current_user.is_authenticated else None
    try:
        return run(photo_service.get_photo, photo_id=parse_id(photo_id), viewer_id=viewer_id)
    except NotFound:
        abort(404)

"""Two-factor sign-in on the site: the code step of a log-in, and the settings page that
turns it on (secret, confirming code, recovery codes shown once), renews the recovery
codes and turns it off.

Between the password and the code nobody is signed in: the session only remembers, for a
few minutes, whose password was right. The code step then signs in exactly as the log-in
form does, on a fresh session id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from snapscale.core.accounts import two_factor
from snapscale.core.accounts.schemas import RecoveryCodes
from snapscale.core.errors import AuthenticationFailed, Conflict, DomainError
from snapscale.core.models import User
from snapscale.core.ratelimit import RateLimited, RateLimiter, limiter_for
from snapscale.web.auth import start_session
from snapscale.web.core_access import run, site_core
from snapscale.web.forms import ActionForm, CodeForm, TwoFactorDisableForm, show_errors
from snapscale.web.navigation import safe_next

bp = Blueprint("two_factor", __name__)

PENDING_SIGN_IN = "pending_sign_in"
# Long enough to find the phone and type a code; short enough that a browser left with a
# right password typed in does not stay half signed in.
PENDING_SIGN_IN_SECONDS = 300
# Secrets and recovery codes must not stay in a browser's or a proxy's cache.
NO_STORE = {"Cache-Control": "no-store"}

Page = tuple[str, int] | tuple[str, int, dict[str, str]]
Result = TypeVar("Result")


def ask_for_code(user: User, next_url: str | None) -> Response:
    """The log-in's password was right for an account with two-factor sign-in: remember
    whose, briefly, and ask for the code. Nothing is signed in yet."""
    # A fresh session id here too: an id planted before the password must not be the
    # one that holds it.
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session[PENDING_SIGN_IN] = {
        "user_id": user.id,
        "token_version": user.token_version,
        "started": time.time(),
        "next": safe_next(next_url),
    }
    return redirect(url_for("two_factor.log_in_code"))


@bp.route("/login/code", methods=["GET", "POST"])
def log_in_code() -> Response | Page:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    pending = _pending_sign_in()
    if pending is None:
        flash(two_factor.SIGN_IN_ENDED, "info")
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = run(
                two_factor.complete_sign_in,
                user_id=pending["user_id"],
                token_version=pending["token_version"],
                code=form.code.data or "",
                limiter=_limiter(),
            )
        except (two_factor.SecondFactorRequired, two_factor.SecondFactorFailed) as error:
            show_errors(form, error)
        except AuthenticationFailed as error:  # the account changed since the password
            session.pop(PENDING_SIGN_IN, None)
            flash(error.detail, "info")
            return redirect(url_for("accounts.login"))
        else:
            session.pop(PENDING_SIGN_IN, None)
            start_session(user)
            flash(f"Welcome back, @{user.username}.", "success")
            return redirect(safe_next(pending["next"]))
    status = 401 if form.form_errors else 422 if form.errors else 200
    return render_template("accounts/login_code.html", form=form), status


def _pending_sign_in() -> dict[str, Any] | None:
    pending = session.get(PENDING_SIGN_IN)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("started", 0)) > PENDING_SIGN_IN_SECONDS:
        session.pop(PENDING_SIGN_IN, None)
        return None
    return pending


@bp.get("/settings/two-factor")
@login_required
def settings() -> Page:
    return _settings_page()


@bp.post("/settings/two-factor/start")
@login_required
def start() -> Response:
    if ActionForm().validate_on_submit():
        try:
            run(two_factor.start_enrolment, user_id=current_user.id)
        except Conflict as error:
            flash(error.detail, "error")
    return redirect(url_for("two_factor.settings"), 303)


@bp.post("/settings/two-factor/cancel")
@login_required
def cancel() -> Response:
    if ActionForm(prefix="cancel").validate_on_submit():
        run(two_factor.cancel_enrolment, user_id=current_user.id)
        flash("Two-factor sign-in was not turned on.", "info")
    return redirect(url_for("two_factor.settings"), 303)


@bp.post("/settings/two-factor/confirm")
@login_required
def confirm() -> Response | Page:
    form = CodeForm(prefix="confirm")
    answer = _code_checked(
        form,
        lambda: _with_code(two_factor.confirm_enrolment, form),
        lambda codes: _recovery_codes_page(codes, "Two-factor sign-in is on."),
    )
    return answer or _settings_page(confirm_form=form, status=422)


@bp.post("/settings/two-factor/recovery-codes")
@login_required
def regenerate() -> Response | Page:
    form = CodeForm(prefix="regenerate")
    answer = _code_checked(
        form,
        lambda: _with_code(two_factor.regenerate_recovery_codes, form),
        lambda codes: _recovery_codes_page(
            codes, "New recovery codes are ready; the old ones no longer work."
        ),
    )
    return answer or _settings_page(regenerate_form=form, status=422)


@bp.post("/settings/two-factor/disable")
@login_required
def disable() -> Response | Page:
    form = TwoFactorDisableForm(prefix="disable")
    answer = _code_checked(
        form,
        lambda: _with_code(two_factor.disable, form, password=form.password.data or ""),
        lambda _: _turned_off(),
    )
    return answer or _settings_page(disable_form=form, status=422)


def _with_code(
    action: Callable[..., Awaitable[Result]], form: CodeForm | TwoFactorDisableForm, **more: Any
) -> Result:
    return run(
        action, user_id=current_user.id, code=form.code.data or "", limiter=_limiter(), **more
    )


def _code_checked(
    form: FlaskForm,
    action: Callable[[], Result],
    done: Callable[[Result], Response | Page],
) -> Response | Page | None:
    """Run a code-checked settings action once its form is valid, and answer with ``done``
    of its result. When the action no longer applies (two-factor sign-in was turned on or
    off meanwhile), a redirect to the settings page; None when the form has errors to
    show."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except RateLimited:
        raise
    except Conflict as error:
        flash(error.detail, "error")
        return redirect(url_for("two_factor.settings"), 303)
    except DomainError as error:
        show_errors(form, error)
        return None
    return done(result)


def _turned_off() -> Response:
    flash("Two-factor sign-in is off: logging in needs only your password.", "success")
    return redirect(url_for("two_factor.settings"), 303)


def _settings_page(
    *,
    confirm_form: CodeForm | None = None,
    regenerate_form: CodeForm | None = None,
    disable_form: TwoFactorDisableForm | None = None,
    status: int = 200,
) -> Page:
    state = run(two_factor.status, user_id=current_user.id)
    enrolment = run(two_factor.pending_enrolment, user_id=current_user.id)
    page = render_template(
        "accounts/two_factor.html",
        state=state,
        enrolment=enrolment,
        start_form=ActionForm(),
        cancel_form=ActionForm(prefix="cancel"),
        confirm_form=confirm_form or CodeForm(prefix="confirm"),
        regenerate_form=regenerate_form or CodeForm(prefix="regenerate"),
        disable_form=disable_form or TwoFactorDisableForm(prefix="disable"),
    )
    return page, status, NO_STORE


def _recovery_codes_page(codes: RecoveryCodes, message: str) -> Page:
    flash(message, "success")
    page = render_template("accounts/recovery_codes.html", codes=codes.recovery_codes)
    return page, 200, NO_STORE


def _limiter() -> RateLimiter | None:
    return limiter_for(site_core().runtime)

"""Sign up, log in, log out and the settings page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import ValidationError
from werkzeug.wrappers import Response

from snapscale.core.accounts import service as account_service
from snapscale.core.accounts import two_factor
from snapscale.core.accounts.schemas import PasswordChange, ProfileUpdate, Registration
from snapscale.core.errors import DomainError
from snapscale.web.auth import end_session, start_session
from snapscale.web.core_access import run
from snapscale.web.forms import (
    ActionForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    SignupForm,
    show_errors,
)
from snapscale.web.navigation import safe_next
from snapscale.web.views.two_factor import ask_for_code

bp = Blueprint("accounts", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            data = Registration(
                username=form.username.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
                display_name=form.display_name.data or "",
            )
            run(account_service.register, data=data)
            user = run(account_service.authenticate, login=data.username, password=data.password)
        except (ValidationError, DomainError) as error:
            show_errors(form, error)
        else:
            start_session(user)
            flash(f"Welcome to Snapscale, @{user.username}!", "success")
            return redirect(url_for("profiles.show", username=user.username))
    return render_template("accounts/signup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = run(
                account_service.authenticate,
                login=form.login.data or "",
                password=form.password.data or "",
            )
        except DomainError as error:
            show_errors(form, error)
        else:
            if run(two_factor.is_enabled, user_id=user.id):
                return ask_for_code(user, request.args.get("next"))
            start_session(user)
            flash(f"Welcome back, @{user.username}.", "success")
            return redirect(safe_next(request.args.get("next")))
    status = 401 if form.form_errors else 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        end_session()
        flash("You are logged out.", "info")
    return redirect(url_for("main.home"))


@bp.route("/settings", methods=["GET"])
@login_required
def settings() -> str:
    account = run(account_service.get_account, user_id=current_user.id)
    profile_form = ProfileForm(data=account.model_dump())
    return render_template(
        "accounts/settings.html", profile_form=profile_form, password_form=PasswordForm()
    )


@bp.post("/settings/profile")
@login_required
def update_profile() -> Response | tuple[str, int]:
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            changes = ProfileUpdate(
                display_name=form.display_name.data or "",
                email=form.email.data or "",
                bio=form.bio.data or "",
            )
            run(account_service.update_profile, user_id=current_user.id, changes=changes)
        except (ValidationError, DomainError) as error:
            show_errors(form, error)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("accounts.settings"))
    return render_template(
        "accounts/settings.html", profile_form=form, password_form=PasswordForm()
    ), 422


@bp.post("/settings/password")
@login_required
def change_password() -> Response | tuple[str, int]:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change = PasswordChange(
                current_password=form.current_password.data or "",
                new_password=form.new_password.data or "",
            )
            run(account_service.change_password, user_id=current_user.id, change=change)
            user = run(
                account_service.authenticate,
                login=current_user.username,
                password=change.new_password,
            )
        except (ValidationError, DomainError) as error:
            show_errors(form, error)
        else:
            # Every other session of this account ended with the change; keep this one.
            start_session(user)
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("accounts.settings"))
    account = run(account_service.get_account, user_id=current_user.id)
    return render_template(
        "accounts/settings.html",
        profile_form=ProfileForm(data=account.model_dump()),
        password_form=form,
    ), 422

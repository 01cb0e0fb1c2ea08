"""Who is signed in to the site. Sessions live server-side (Redis or a local store); the
session only names the account and the token version it was opened under, so changing
the password ends every other session at once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, session
from flask_login import LoginManager, UserMixin, login_user, logout_user

from snapscale.core.accounts import service as account_service
from snapscale.core.models import User
from snapscale.observability.context import bind_user
from snapscale.web.core_access import run


@dataclass(frozen=True)
class SiteUser(UserMixin):
    id: int
    username: str
    display_name: str
    is_admin: bool
    token_version: int

    @classmethod
    def of(cls, user: User) -> SiteUser:
        return cls(user.id, user.username, user.display_name, user.is_admin, user.token_version)

    def get_id(self) -> str:
        return f"{self.id}:{self.token_version}"


def _load_user(session_user_id: str) -> SiteUser | None:
    user_id, _, version = session_user_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = run(account_service.user_for_session, user_id=int(user_id), token_version=int(version))
    if user is None:
        return None
    bind_user(user.id)  # the request's log lines and access line name the account
    return SiteUser.of(user)


def start_session(user: User) -> None:
    """Sign in on a fresh session id, so an id planted before log-in is worthless."""
    _new_session_id()
    login_user(SiteUser.of(user))


def end_session() -> None:
    """Sign out: the signed-in session is deleted from the store, and whatever this browser
    keeps afterwards (a "logged out" message) lives under a new id."""
    logout_user()
    _new_session_id()
    session.clear()


def _new_session_id() -> None:
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]


def install(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "accounts.login"
    manager.login_message = "Log in to see that page."
    manager.login_message_category = "info"
    manager.session_protection = None  # sessions are server-side and rotated at log-in
    manager.user_loader(_load_user)

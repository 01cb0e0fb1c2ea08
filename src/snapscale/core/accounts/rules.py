"""What makes a username, an email and a password acceptable. Used by the schemas, so
the API and the site refuse exactly the same things with the same words."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

USERNAME_MIN, USERNAME_MAX = 3, 30
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_MAX = 60
BIO_MAX = 300

_USERNAME = re.compile(r"[a-z0-9_.]+")


def normalize_username(value: str) -> str:
    """Usernames are case-insensitive: store and compare them lower-case."""
    username = value.strip().lower()
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise ValueError(f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if not _USERNAME.fullmatch(username):
        raise ValueError("may contain only letters a-z, digits, '_' and '.'")
    if username.startswith(".") or username.endswith(".") or ".." in username:
        raise ValueError("may not start or end with '.', or contain '..'")
    return username


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise ValueError(f"must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise ValueError(f"must be at most {PASSWORD_MAX} characters long")
    if password.lower() in common_passwords() or len(set(password)) == 1:
        raise ValueError("is too common; choose one that is harder to guess")
    return password


def clean_text(value: object) -> object:
    """Trim, and drop control characters other than newlines (they break rendering).

    Runs before length limits, so what counts is what is kept: browsers send a textarea's
    line breaks as CRLF, and the CRs must not count against the limit."""
    if not isinstance(value, str):
        return value  # left for the type check to refuse
    return "".join(ch for ch in value.strip() if ch == "\n" or (ch >= " " and ch != "\x7f"))


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )

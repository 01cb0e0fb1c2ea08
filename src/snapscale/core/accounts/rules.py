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
    """Usernames are case-insensitive: store and compare them lower-case.

    Not trimmed: a name with spaces around it is refused, as the schema's pattern says.
    The site trims what is typed into its form before it gets here."""
    username = value.lower()
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise ValueError(f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if not _USERNAME.fullmatch(username):
        raise ValueError("may contain only letters a-z, digits, '_' and '.'")
    if username.startswith(".") or username.endswith(".") or ".." in username:
        raise ValueError("may not start or end with '.', or contain '..'")
    return username


def bare_email_address(value: object) -> object:
    """Refuse what the email validator would quietly rewrite: spaces around the address, or
    a display name ("Ada <ada@example.com>"). The schema's `format: email` allows neither,
    so an API client is refused exactly what it would refuse itself. The site trims what is
    typed into its form before it gets here. Anything but a string is left to the type
    check that follows."""
    if isinstance(value, str) and (value != value.strip() or "<" in value or ">" in value):
        raise ValueError("must be an email address alone, with no name or spaces around it")
    return value


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise ValueError(f"must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise ValueError(f"must be at most {PASSWORD_MAX} characters long")
    if password.lower() in common_passwords() or len(set(password)) == 1:
        raise ValueError("is too common; choose one that is harder to guess")
    return password


# A character `clean_text` keeps and does not trim: neither a control character nor
# whitespace (as Python's str.strip sees it). Spelled out rather than `\s`, which means
# different things in Python's regular expressions and in a JSON Schema's (ECMA 262).
VISIBLE_CHARACTER = (
    "[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)


def clean_text(value: str) -> str:
    """Drop control characters other than newlines (they break rendering), then trim.

    Runs after the length limit, which counts characters as sent, as the schema documents
    (an API client that validates against the schema is refused nothing it would refuse
    itself, and vice versa). The site turns a textarea's CRLF line breaks back into the
    LF the person typed before the text gets here (`web.forms.typed_text`)."""
    kept = "".join(ch for ch in value if ch == "\n" or (ch >= " " and not "\x7f" <= ch <= "\x9f"))
    return kept.strip()


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )

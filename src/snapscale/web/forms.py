"""Site forms. They carry the CSRF token and render fields; what makes a value valid is
decided by the core's schemas, whose errors ``show_errors`` puts back on the fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from pydantic import ValidationError
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from snapscale.core.accounts import rules
from snapscale.core.errors import DomainError
from snapscale.core.photos.schemas import CAPTION_MAX
from snapscale.core.social.schemas import COMMENT_MAX

# What the core accepts (it sniffs the bytes; this only steers the file picker).
PHOTO_TYPES = "image/jpeg,image/png,image/webp"


# The core counts its length limits on what it is given (as the API documents them), so
# the forms hand it what the person typed, not what the browser added around it.
def typed_line(value: str | None) -> str | None:
    """A one-line field without the spaces a person does not see they typed."""
    return value.strip() if isinstance(value, str) else value


def typed_text(value: str | None) -> str | None:
    """A textarea's text as typed: browsers send its line breaks as CRLF, and the CRs must
    not count against a limit the textarea's own counter did not count them against."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


class SignupForm(FlaskForm):
    username = StringField(
        "Username", [InputRequired()], filters=[typed_line], render_kw={"autocomplete": "username"}
    )
    email = EmailField(
        "Email", [InputRequired()], filters=[typed_line], render_kw={"autocomplete": "email"}
    )
    display_name = StringField(
        "Display name (optional)", filters=[typed_line], render_kw={"autocomplete": "name"}
    )
    password = PasswordField(
        "Password", [InputRequired()], render_kw={"autocomplete": "new-password"}
    )


class LoginForm(FlaskForm):
    login = StringField(
        "Username or email", [InputRequired()], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        "Password", [InputRequired()], render_kw={"autocomplete": "current-password"}
    )


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Display name", filters=[typed_line], render_kw={"maxlength": rules.DISPLAY_NAME_MAX}
    )
    email = EmailField(
        "Email", [InputRequired()], filters=[typed_line], render_kw={"autocomplete": "email"}
    )
    bio = TextAreaField(
        "Bio", filters=[typed_text], render_kw={"maxlength": rules.BIO_MAX, "rows": 4}
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", [InputRequired()], render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        "New password", [InputRequired()], render_kw={"autocomplete": "new-password"}
    )


class UploadForm(FlaskForm):
    file = FileField(
        "Photo", [FileRequired("Choose a photo to upload.")], render_kw={"accept": PHOTO_TYPES}
    )
    caption = TextAreaField(
        "Caption (optional)",
        filters=[typed_text],
        render_kw={"maxlength": CAPTION_MAX, "rows": 4},
    )


class CaptionForm(FlaskForm):
    caption = TextAreaField(
        "Caption", filters=[typed_text], render_kw={"maxlength": CAPTION_MAX, "rows": 4}
    )


class CommentForm(FlaskForm):
    text = TextAreaField(
        "Comment",
        [DataRequired("Write something before posting.")],
        filters=[typed_text],
        render_kw={"maxlength": COMMENT_MAX, "rows": 2, "placeholder": "Add a comment…"},
    )


# A code is typed from a phone (or a sheet of recovery codes): no spell-check, no capitals.
_CODE_INPUT = {
    "autocomplete": "one-time-code",
    "autocapitalize": "off",
    "spellcheck": "false",
    "maxlength": 64,
}


class CodeForm(FlaskForm):
    """A second-factor code: from the app, or (where accepted) a recovery code."""

    code = StringField("Code", [InputRequired()], render_kw=_CODE_INPUT)


class TwoFactorDisableForm(FlaskForm):
    password = PasswordField(
        "Current password", [InputRequired()], render_kw={"autocomplete": "current-password"}
    )
    code = StringField("Code", [InputRequired()], render_kw=_CODE_INPUT)


class ActionForm(FlaskForm):
    """A button that changes something (log out, ...): only the CSRF token."""


def show_errors(form: FlaskForm, error: ValidationError | DomainError) -> None:
    """Attach the core's complaints to the matching fields, the rest to the whole form."""
    if isinstance(error, ValidationError):
        pairs = [
            (str(e["loc"][0]) if e["loc"] else "", str(e["msg"]).removeprefix("Value error, "))
            for e in error.errors()
        ]
    else:
        pairs = [(e.field, e.message) for e in error.errors] or [("", error.detail)]
    for field_name, message in pairs:
        field = form._fields.get(field_name)
        if field is not None and field_name != "csrf_token":
            field.errors = [*field.errors, _about_field(field.label.text, message)]
        else:
            form.form_errors.append(_sentence(message))


def _about_field(label: str, message: str) -> str:
    """Name the field the core's words are about: "is taken" reads "Username is taken."."""
    label = label.removesuffix(" (optional)")
    if message.lower().startswith(("value ", "string ", "input ")):
        message = message.split(" ", 1)[1]  # pydantic's "String should have at most..."
    elif message[:1].isupper():
        return _sentence(message)
    if label.lower() in message.lower():
        return _sentence(f"this {message}")  # not "Current password is not your current..."
    return _sentence(f"{label} {message}")


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:].rstrip(".") + "."

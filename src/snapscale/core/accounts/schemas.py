"""What goes in and out of the accounts service; the API uses these as its contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from snapscale.core.accounts import rules
from snapscale.core.ids import PublicId

# The rules' limits are documented in the schema (json_schema_extra, not constraints, so
# the rules keep their own wording). Names are taken case-insensitively and trimmed.
Username = Annotated[
    str,
    Field(
        examples=["ada.l"],
        json_schema_extra={
            "minLength": rules.USERNAME_MIN,
            "maxLength": rules.USERNAME_MAX,
            "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$",
        },
    ),
    AfterValidator(rules.normalize_username),
]
NewPassword = Annotated[
    str,
    Field(
        examples=["correct horse battery"],
        description="Not a common password, nor the username or email.",
        json_schema_extra={"minLength": rules.PASSWORD_MIN, "maxLength": rules.PASSWORD_MAX},
    ),
    AfterValidator(rules.check_password),
]
DisplayName = Annotated[
    str, StringConstraints(max_length=rules.DISPLAY_NAME_MAX), AfterValidator(rules.clean_text)
]
Bio = Annotated[str, StringConstraints(max_length=rules.BIO_MAX), AfterValidator(rules.clean_text)]
Email = Annotated[
    EmailStr, BeforeValidator(rules.bare_email_address), StringConstraints(max_length=254)
]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    email: Email
    password: NewPassword
    display_name: DisplayName = ""

    @model_validator(mode="after")
    def _password_is_not_the_username(self) -> Registration:
        if self.password.lower() in {self.username, self.email.lower()}:
            raise ValueError("password must not be the same as the username or email")
        return self


class ProfileUpdate(BaseModel):
    """A partial update: fields left out are not changed."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    bio: Bio | None = None
    email: Email | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=rules.PASSWORD_MAX)
    new_password: NewPassword


class PublicProfile(BaseModel):
    """What anyone may see of an account."""

    model_config = ConfigDict(from_attributes=True)

    id: PublicId
    username: str
    display_name: str
    bio: str
    created_at: datetime
    followers_count: int = 0
    following_count: int = 0
    photos_count: int = 0


class Account(PublicProfile):
    """What the owner sees of their own account."""

    email: str
    is_admin: bool


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type)
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Ours are 43 characters, but room is left for any token a client could mix up (an
    # access token, say), so that one is refused as a token (401), not as a field (422).
    refresh_token: str = Field(min_length=1, max_length=4096)


class TwoFactorStatus(BaseModel):
    enabled: bool = Field(description="Signing in needs a code from the authenticator app.")
    pending: bool = Field(
        description="An enrolment was started and waits for its first code to be confirmed."
    )
    enabled_at: datetime | None = None
    recovery_codes_left: int = Field(description="Unused recovery codes.")


class TwoFactorEnrolment(BaseModel):
    secret: str = Field(
        description="The shared secret (base32), for apps where it is typed in by hand."
    )
    otpauth_uri: str = Field(
        description="The same secret as an otpauth:// URI, which apps import (or scan as a "
        "QR code).",
        examples=["otpauth://totp/Snapscale:ada.l?secret=JBSWY3DPEHPK3PXP&issuer=Snapscale"],
    )


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="Single-use codes that stand in for the app's code. Shown this once "
        "only: they are stored as hashes.",
        examples=[["abcd-efgh-jkmn", "pqrs-tuvw-xyz2"]],
    )


OneTimeCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="The 6-digit code the authenticator app shows now, or (where a recovery "
        "code is accepted) a recovery code.",
        examples=["123456"],
    ),
]


class TwoFactorCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: OneTimeCode


class TwoFactorDisable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=rules.PASSWORD_MAX, description="Your current password.")
    code: OneTimeCode

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

Username = Annotated[str, Field(examples=["ada.l"]), AfterValidator(rules.normalize_username)]
NewPassword = Annotated[
    str, Field(examples=["correct horse battery"]), AfterValidator(rules.check_password)
]
DisplayName = Annotated[
    str, StringConstraints(max_length=rules.DISPLAY_NAME_MAX), BeforeValidator(rules.clean_text)
]
Bio = Annotated[str, StringConstraints(max_length=rules.BIO_MAX), BeforeValidator(rules.clean_text)]
Email = Annotated[EmailStr, StringConstraints(max_length=254)]


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

    refresh_token: str = Field(min_length=1, max_length=200)

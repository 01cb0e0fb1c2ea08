"""What the photos service takes and gives; the API uses these as its contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from snapscale.core.accounts.rules import clean_text
from snapscale.core.ids import PublicId
from snapscale.core.pagination import Page

CAPTION_MAX = 2200
IDEMPOTENCY_KEY_MAX = 255

Caption = Annotated[str, StringConstraints(max_length=CAPTION_MAX), AfterValidator(clean_text)]
RenditionName = Literal["thumb", "medium", "large"]


class Owner(BaseModel):
    id: PublicId
    username: str
    display_name: str


class RenditionOut(BaseModel):
    url: str = Field(description="Where to fetch the WebP image; cache it forever.")
    width: int
    height: int


class Placeholder(BaseModel):
    blurhash: str = Field(description="A blurhash to paint while the image loads.")
    color: str = Field(description="The average colour, #rrggbb.")


class PhotoOut(BaseModel):
    id: PublicId
    status: Literal["processing", "ready", "failed"]
    caption: str
    owner: Owner
    created_at: datetime
    width: int = Field(description="Width as displayed (after EXIF orientation).")
    height: int
    placeholder: Placeholder | None = Field(None, description="Present once ready.")
    renditions: dict[RenditionName, RenditionOut] | None = Field(
        None, description="thumb (320 square), medium (1080), large (2048); once ready."
    )
    like_count: int = 0
    comment_count: int = 0
    liked_by_me: bool | None = Field(
        None, description="Whether the signed-in reader likes it; null when signed out."
    )
    failure_reason: str | None = Field(
        None, description="Why processing failed; shown to the owner only."
    )
    near_duplicate_of: PublicId | None = Field(
        None,
        description="Another photo of the owner's that looks almost the same; owner only.",
    )


# One parametrisation, made once: pages of photos are built on every feed read.
PhotoPage = Page[PhotoOut]


class PhotoUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: Caption


class Upload(BaseModel):
    """An upload as the service sees it: the bytes, never the client's name or type."""

    data: bytes
    caption: Caption = ""
    idempotency_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)] | None
    ) = None

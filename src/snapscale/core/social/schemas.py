"""What the social service takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from snapscale.core.accounts.rules import clean_text
from snapscale.core.ids import PublicId
from snapscale.core.photos.schemas import Owner

COMMENT_MAX = 1000


def _not_blank(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


CommentText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=COMMENT_MAX),
    BeforeValidator(clean_text),
    AfterValidator(_not_blank),
]


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: CommentText


class CommentOut(BaseModel):
    id: PublicId
    text: str
    author: Owner
    created_at: datetime

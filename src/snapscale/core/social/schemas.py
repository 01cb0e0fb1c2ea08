"""What the social service takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
)

from snapscale.core.accounts.rules import VISIBLE_CHARACTER, clean_text
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
    AfterValidator(clean_text),
    AfterValidator(_not_blank),
    # Spaces and control characters are dropped before the blank check, so the schema
    # asks for one character that is neither (in the documentation only; the checks above
    # decide).
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": COMMENT_MAX,
            "pattern": VISIBLE_CHARACTER,
        }
    ),
]


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: CommentText


class CommentOut(BaseModel):
    id: PublicId
    text: str
    author: Owner
    created_at: datetime

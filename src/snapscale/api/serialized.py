"""Answers already serialised by their own pydantic model.

A route that returns a model has FastAPI validate it against the response model again,
turn it into plain Python objects and encode those: for a page of 20 photo cards that
was about a third of the feed's CPU (docs/profiles/feed.txt). A route whose model *is*
exactly its response model (never a subclass with more fields, which validation would
have filtered out) returns `as_json(model)` instead and declares `response_model=` so
OpenAPI still describes the answer.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def as_json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")

"""RFC 9457 problem details: the one shape of every error the API returns.

All translation from exceptions to responses happens here, so no route builds an error
body and no stack trace can reach a client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from snapscale.core.errors import DomainError, FieldError
from snapscale.core.ratelimit import RateLimited

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


class ProblemFieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. `password`.")
    location: str = Field(description="Where the input was: body, query, path, header or form.")
    detail: str


class Problem(BaseModel):
    type: str = Field(
        "about:blank", description="URI naming the kind of problem; about:blank for plain HTTP."
    )
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="The request path that failed.")
    errors: list[ProblemFieldError] | None = None


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: list[ProblemFieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=f"urn:snapscale:problem:{slug}" if slug else "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(
        problem.model_dump(exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE
    )


def problem_body(status: int, detail: str, *, instance: str) -> bytes:
    """A problem document for code that answers below FastAPI (pure ASGI middleware)."""
    problem = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, instance=instance
    )
    return problem.model_dump_json(exclude_none=True).encode()


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting that these statuses answer with a Problem."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        request,
        exc.status,
        exc.detail,
        title=exc.title,
        slug=exc.slug,
        errors=[_from_field_error(error) for error in exc.errors] or None,
    )


def rate_limited_response(request: Request, exc: RateLimited) -> JSONResponse:
    """The 429, with Retry-After and the RateLimit headers of the limit that refused."""
    return problem_response(
        request, 429, exc.detail, title=exc.title, slug=exc.slug, headers=exc.decision.headers()
    )


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return rate_limited_response(request, exc)


def _from_field_error(error: FieldError) -> ProblemFieldError:
    return ProblemFieldError(field=error.field, location=error.location, detail=error.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        headers["Allow"] = _allowed_methods(request, fallback=headers.get("Allow", ""))
    return problem_response(request, exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request, fallback: str) -> str:
    """Every method the path answers to, as the API documents them. Each method is a route
    of its own, and the router's 405 names only those of the first route that matched."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if _template_pattern(template).fullmatch(request.url.path):
            methods |= {method.upper() for method in item if method in _HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")  # every GET route answers HEAD too
    return ", ".join(sorted(methods)) or fallback


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw_errors = exc.errors()
    if any(error["type"] == "json_invalid" for error in raw_errors):
        return problem_response(
            request, 400, "The request body is not valid JSON.", slug="bad-json"
        )
    content_type = request.headers.get("content-type", "")
    if _expected_json_object(raw_errors) and content_type and "json" not in content_type:
        return problem_response(
            request,
            415,
            f"Send the body as application/json, not {content_type}.",
        )
    errors = [_field_error(error) for error in raw_errors]
    summary = "; ".join(f"{error.field or error.location}: {error.detail}" for error in errors)
    return problem_response(
        request, 422, summary, title="Invalid input", slug="invalid-input", errors=errors
    )


def _expected_json_object(errors: Sequence[Any]) -> bool:
    return any(tuple(error["loc"]) == ("body",) for error in errors)


def _field_error(error: dict[str, Any]) -> ProblemFieldError:
    location, *path = error["loc"] or ["body"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    elif message.startswith("Expected UploadFile"):
        # A text field where a file belongs: a part sent without a filename.
        message = "must be sent as a file (a multipart part with a filename), not as text"
    return ProblemFieldError(
        field=".".join(str(part) for part in path), location=str(location), detail=message
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "Something went wrong on our side; it has been logged.")


def document_unreadable_bodies(app: FastAPI) -> None:
    """Every operation that reads a body answers a 400 when the body cannot be read (JSON
    that does not parse, a broken multipart form): add it to each one's documentation,
    so no route can forget it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first_time = app.openapi_schema is None
        schema = generate()  # made once, then kept by the app
        if first_time:
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation["responses"].setdefault("400", _UNREADABLE_BODY)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_UNREADABLE_BODY = {
    "description": HTTPStatus.BAD_REQUEST.phrase,
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)

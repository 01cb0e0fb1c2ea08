"""The upload form, read with the file kept in memory.

FastAPI's `File()` parameters go through Starlette's parser, which spools any file over
1 MB to a temporary file, one thread hop per 64 KB piece received, and the route then
reads it back into memory for the checks anyway. For a 10 MB photo that was about half
of the answer time (docs/profiles/upload.txt). The same parser is used here, told to keep
the file in memory: the body's size is already bounded by the body-limit layer, and the
service needs the bytes in memory either way.

Errors are the ones FastAPI gives for form parameters: a missing or too long field is a
422 naming it, a body that is not a readable form is a 400.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from snapscale.api.body_limit import MULTIPART_OVERHEAD
from snapscale.api.deps import get_runtime
from snapscale.core.photos.schemas import CAPTION_MAX, IDEMPOTENCY_KEY_MAX, Upload

FILE_FIELD = "file"
CAPTION_FIELD = "caption"

# What OpenAPI shows for the form: what the `File()` and `Form()` parameters said.
OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The image. Its name and type are ignored.",
                        },
                        CAPTION_FIELD: {
                            "type": "string",
                            "maxLength": CAPTION_MAX,
                            "default": "",
                        },
                    },
                }
            }
        },
    }
}


async def _upload_body(
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX)
    ] = None,
) -> Upload:
    max_file_bytes = get_runtime(request).settings.upload_max_bytes + MULTIPART_OVERHEAD
    form = await _form(request, max_file_bytes)
    try:
        file = form.get(FILE_FIELD)
        caption = form.get(CAPTION_FIELD, "")
        errors = []
        if not isinstance(file, UploadFile):
            kind = "missing" if file is None else "value_error"
            message = "Field required" if file is None else "Expected UploadFile"
            errors.append({"type": kind, "loc": ("body", FILE_FIELD), "msg": message})
        if not isinstance(caption, str):
            message = "must be text"
            errors.append({"type": "value_error", "loc": ("body", CAPTION_FIELD), "msg": message})
        if errors:
            raise RequestValidationError(errors)
        assert isinstance(file, UploadFile) and isinstance(caption, str)
        data = await file.read()
        try:
            return Upload(data=data, caption=caption, idempotency_key=idempotency_key)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from None
    finally:
        await form.close()


# Declared before the route's other parameters, it runs first: the body is received
# before the account is looked up, so no database connection waits on a slow client.
UploadBody = Annotated[Upload, Depends(_upload_body)]


async def _form(request: Request, max_file_bytes: int) -> FormData:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        # A urlencoded form can carry no file, and anything else no field at all: either
        # way the answer is the 422 naming the missing file.
        return await request.form()
    parser = MultiPartParser(request.headers, request.stream(), max_files=1, max_fields=10)
    parser.spool_max_size = max_file_bytes  # in memory up to the size the body may have
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(400, f"The upload form could not be read: {exc.message}") from exc

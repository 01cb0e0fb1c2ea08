"""Rendition files in embedded mode (local storage). With S3 the store serves them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException

from snapscale.api.deps import get_runtime
from snapscale.core.storage import LocalStorage

router = APIRouter(include_in_schema=False)

# Keys are never reused for different bytes, so browsers and CDNs may keep them forever.
IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/media/{key:path}")
async def media(key: str, request: Request) -> Response:
    storage = get_runtime(request).storage
    # Only renditions are served: originals keep the uploader's metadata (GPS included).
    if not isinstance(storage, LocalStorage) or not key.endswith(".webp"):
        raise HTTPException(404)
    try:
        path = storage.path_for(key)
        stat = path.stat()
    except (ValueError, OSError):
        raise HTTPException(404) from None
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="image/webp", headers=headers, stat_result=stat)

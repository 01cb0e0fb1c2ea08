"""The FastAPI application: `/api/v1/...`, the OpenAPI docs, `/healthz` and `/readyz`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from snapscale import __version__
from snapscale.api import http_layers, problems
from snapscale.api.body_limit import MULTIPART_OVERHEAD, BodyLimit
from snapscale.api.cached_reads import CachedProfileReads
from snapscale.api.routes import admin, auth, feed, media, photos, social, two_factor, users
from snapscale.config import Settings
from snapscale.core import health
from snapscale.core.runtime import Runtime
from snapscale.observability.api import ObservedFastAPI, add_metrics_route
from snapscale.wiring import build_runtime

# JSON bodies are small; only the upload route takes more.
DEFAULT_BODY_LIMIT = 1024 * 1024

API_PREFIX = "/api/v1"
_READY = {"status": "ready", "checks": {"database": "ok", "redis": "ok", "storage": "ok"}}
DESCRIPTION = """
The Snapscale API. Sign in with **Authorize** (username or email, and password) to try
the routes that need an account. Every error is an RFC 9457 `application/problem+json`
document; ids are strings.
"""


def create_api(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """The API app. Given a runtime it borrows it; otherwise it makes and owns one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        app.state.runtime = build_runtime(settings)
        try:
            yield
        finally:
            await app.state.runtime.aclose()

    # Observed: the request id, metrics and access line wrap every other layer.
    app = ObservedFastAPI(
        title="Snapscale",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.problem_responses(429, 500),
    )
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app)

    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(auth.router)
    v1.include_router(users.router)
    v1.include_router(two_factor.router)
    v1.include_router(photos.router)
    v1.include_router(social.router)
    v1.include_router(feed.router)
    v1.include_router(admin.router)
    app.include_router(v1)
    app.include_router(media.router)
    problems.document_unreadable_bodies(app)
    # Innermost of the layers: every layer below wraps the hot read too.
    app.add_middleware(CachedProfileReads, users_path=f"{API_PREFIX}{users.router.prefix}")
    app.add_middleware(
        BodyLimit,
        default=DEFAULT_BODY_LIMIT,
        by_path={f"{API_PREFIX}/photos": settings.upload_max_bytes + MULTIPART_OVERHEAD},
    )
    http_layers.install(app, settings, upload_path=f"{API_PREFIX}/photos")

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return health.LIVE

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Every dependency answers",
        description="The database, Redis (when configured) and photo storage, each checked "
        "within `SNAPSCALE_READY_TIMEOUT_SECONDS`; 503 names what failed.",
        response_model=None,
        responses={
            200: {"description": "Ready", "content": {"application/json": {"example": _READY}}},
            **problems.problem_responses(503),
        },
    )
    async def readyz(request: Request) -> JSONResponse:
        readiness = await health.check_readiness(request.app.state.runtime)
        if readiness.ready:
            response = JSONResponse(readiness.as_dict())
        else:
            response = problems.problem_response(
                request, 503, readiness.failures(), title="Not ready", slug="not-ready"
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    add_metrics_route(app)
    return app

"""Embedded mode: the API, its docs and the site in one process, on one event loop.

A small ASGI dispatcher sends API paths to FastAPI and everything else to the Flask site
(run in a thread pool through a WSGI bridge). Routing by prefix, rather than mounting the
site inside FastAPI, keeps the API's own 404 and 405 answers as problem+json. Both front
ends share one Runtime, so one engine and one cache serve the whole process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from snapscale.api.app import create_api
from snapscale.config import Settings
from snapscale.core.runtime import Runtime
from snapscale.core.sync_bridge import LoopBridge
from snapscale.web.app import create_site
from snapscale.web.core_access import SiteCore
from snapscale.wiring import build_runtime

API_PATHS = (
    "/api/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/media/",
)

Scope = dict[str, Any]
ASGIApp = Any


class EmbeddedApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.api: FastAPI | None = None
        self.site: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.api is not None, "lifespan has not run"
        assert self.site is not None, "lifespan has not run"
        path: str = scope.get("path", "")
        if path.startswith(API_PATHS) or path == "/api":
            await self.api(scope, receive, send)
        else:
            await self.site(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.runtime is not None:
                    await self.runtime.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        self.runtime = build_runtime(self.settings)
        self.api = create_api(self.settings, runtime=self.runtime)
        if self.settings.broker_url is None:
            # The in-process queue starts empty: pick up work a previous run left unfinished.
            await self.runtime.jobs.send("photos.sweep", {"stuck_after_seconds": 0})
        bridge = LoopBridge(asyncio.get_running_loop())
        flask_app = create_site(self.settings, core=SiteCore(self.runtime, bridge))
        self.site = WSGIMiddleware(flask_app, workers=8)  # type: ignore[arg-type]

"""The site's door into the async core: every view calls services through ``run``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from flask import current_app, has_request_context, request

from snapscale.config import Settings
from snapscale.core.db import SAFE_METHODS, UnitOfWork
from snapscale.core.runtime import Runtime
from snapscale.core.sync_bridge import LoopBridge
from snapscale.wiring import build_runtime

P = ParamSpec("P")
R = TypeVar("R")

EXTENSION_KEY = "snapscale"


class SiteCore:
    def __init__(self, runtime: Runtime, bridge: LoopBridge, *, owned: bool = False) -> None:
        self.runtime = runtime
        self.bridge = bridge
        self._owned = owned

    @classmethod
    def standalone(cls, settings: Settings) -> SiteCore:
        """A private event loop and runtime, for a site process of its own."""
        return cls(build_runtime(settings), LoopBridge.in_background_thread(), owned=True)

    def close(self) -> None:
        """Release the runtime and loop, if this core made them (a borrowed one is left)."""
        if self._owned:
            self.bridge.call(self.runtime.aclose)
            self.bridge.close()

    def run(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call one core service in its own committed unit of work and wait for it; while
        answering a GET, a read-only one."""
        read_only = has_request_context() and request.method in SAFE_METHODS

        async def in_unit_of_work() -> R:
            return await self.runtime.run_in(service, read_only, *args, **kwargs)

        return self.bridge.call(in_unit_of_work)


def site_core() -> SiteCore:
    core: SiteCore = current_app.extensions[EXTENSION_KEY]
    return core


def run(
    service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]], *args: P.args, **kwargs: P.kwargs
) -> R:
    return site_core().run(service, *args, **kwargs)

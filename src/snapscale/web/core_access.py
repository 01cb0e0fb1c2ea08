"""The site's door into the async core: every view calls services through ``run``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from flask import current_app

from snapscale.core.db import UnitOfWork
from snapscale.core.runtime import Runtime
from snapscale.core.sync_bridge import LoopBridge

P = ParamSpec("P")
R = TypeVar("R")

EXTENSION_KEY = "snapscale"


class SiteCore:
    def __init__(self, runtime: Runtime, bridge: LoopBridge) -> None:
        self.runtime = runtime
        self.bridge = bridge

    def run(
        self,
        service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call one core service in its own committed unit of work and wait for it."""
        return self.bridge.call(self.runtime.run, service, *args, **kwargs)


def site_core() -> SiteCore:
    core: SiteCore = current_app.extensions[EXTENSION_KEY]
    return core


def run(
    service: Callable[Concatenate[UnitOfWork, P], Awaitable[R]], *args: P.args, **kwargs: P.kwargs
) -> R:
    return site_core().run(service, *args, **kwargs)

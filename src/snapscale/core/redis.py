"""Redis clients with short, explicit timeouts.

redis-py's defaults can block a request for a long time on a hung server; every client
Snapscale makes fails within ``redis_timeout_seconds`` instead and does not retry
(the caller decides what a failure means)."""

from __future__ import annotations

import redis
import redis.asyncio
from redis.backoff import NoBackoff

from snapscale.config import Settings

HEALTH_CHECK_SECONDS = 30


def async_client(settings: Settings) -> redis.asyncio.Redis:
    assert settings.redis_url is not None
    timeout = settings.redis_timeout_seconds
    return redis.asyncio.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
        health_check_interval=HEALTH_CHECK_SECONDS,
    )


def sync_client(settings: Settings) -> redis.Redis:
    assert settings.redis_url is not None
    timeout = settings.redis_timeout_seconds
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        retry=redis.retry.Retry(NoBackoff(), 0),
        health_check_interval=HEALTH_CHECK_SECONDS,
    )


def subscriber_client(settings: Settings) -> redis.asyncio.Redis:
    """For pub/sub listeners, which wait for messages indefinitely: no read timeout, but
    a short connect timeout and TCP keepalive so a dead server is noticed."""
    assert settings.redis_url is not None
    return redis.asyncio.Redis.from_url(
        settings.redis_url,
        socket_timeout=None,
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_keepalive=True,
        retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
    )

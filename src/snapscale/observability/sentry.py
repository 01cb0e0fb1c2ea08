"""Error reporting to Sentry, on only when SNAPSCALE_SENTRY_DSN is set.

Every process entry point (the API and site servers, embedded `serve`, the worker) calls
``init_sentry`` once, after forking: the SDK sends from a background thread.

What leaves the process is deliberately little. No personal data (the SDK's default, and
its event scrubber: no cookies, no Authorization header, no user IP), no request bodies,
and no local variables of stack frames: they hold user input and objects such as the
settings whose text includes connection URLs, and a key denylist cannot see inside that
text. As a last guard, every configured secret (database, Redis and broker passwords,
the signing key, the two-factor keys, the S3 secret) is blanked from an event wherever
it appears before it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from snapscale import __version__
from snapscale.config import Settings

if TYPE_CHECKING:
    from sentry_sdk.integrations import Integration

Process = Literal["api", "web", "embedded", "worker"]

FILTERED = "[Filtered]"
# Shorter "secrets" would blank ordinary words all over an event.
_MIN_SECRET_LENGTH = 4


def init_sentry(settings: Settings, process: Process) -> bool:
    """Start reporting errors (and sampled traces) for this process; False when no DSN."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk

    secrets = _configured_secrets(settings)

    def redact(event: Any, _hint: Any) -> Any:
        return _blank(event, secrets)

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment,
        release=f"snapscale@{__version__}",
        # 0 would still build (and drop) a transaction per request; None skips tracing.
        traces_sample_rate=settings.sentry_traces_sample_rate or None,
        # send_default_pii is left unset: the SDK's default already sends no personal data,
        # and setting it at all is deprecated. Setting its replacement, data_collection,
        # would switch the event scrubber off.
        max_request_body_size="never",
        include_local_variables=False,
        # Only the integrations this process needs. Auto-enabling would add Redis, whose
        # breadcrumbs carry key names, and site session keys are session ids.
        auto_enabling_integrations=False,
        integrations=_integrations(process),
        before_send=redact,
        before_send_transaction=redact,
    )
    sentry_sdk.get_global_scope().set_tag("process", process)
    return True


def _integrations(process: Process) -> list[Integration]:
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    chosen: list[Integration] = [SqlalchemyIntegration()]
    if process in ("api", "embedded"):
        from sentry_sdk.integrations.fastapi import FastApiIntegration
        from sentry_sdk.integrations.starlette import StarletteIntegration

        chosen += [StarletteIntegration(), FastApiIntegration()]
    if process in ("web", "embedded"):
        from sentry_sdk.integrations.flask import FlaskIntegration

        chosen.append(FlaskIntegration())
    if process == "worker":
        from sentry_sdk.integrations.celery import CeleryIntegration

        chosen.append(CeleryIntegration())
    return chosen


def _configured_secrets(settings: Settings) -> list[str]:
    found: list[str] = []
    for url in (settings.database_url, settings.redis_url, settings.broker_url):
        password = urlsplit(url).password if url else None
        if password:
            # A message may quote the URL as written, or the password as decoded.
            found += [password, unquote(password)]
    for secret in (settings.secret_key, settings.s3_secret_access_key):
        if secret is not None:
            found.append(secret.get_secret_value())
    if settings.two_factor_keys is not None:
        found += settings.two_factor_keys.get_secret_value().split(",")
    return [value for value in found if value and len(value) >= _MIN_SECRET_LENGTH]


def _blank(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {key: _blank(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_blank(item, secrets) for item in value]
    return value

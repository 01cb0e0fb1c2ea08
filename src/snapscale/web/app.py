"""The Flask site: server-rendered pages over the same core services as the API."""

from __future__ import annotations

from datetime import timedelta

from cachelib.file import FileSystemCache
from flask import Flask
from flask_session import Session
from flask_wtf.csrf import CSRFProtect

from snapscale.config import Settings
from snapscale.core import redis as redis_clients
from snapscale.observability import wsgi as site_observability
from snapscale.web import auth, errors, formatting, http_layers, navigation, probes
from snapscale.web.core_access import EXTENSION_KEY, SiteCore
from snapscale.web.sessions import LocalSessionInterface, ResilientRedisSessionInterface
from snapscale.web.views import accounts, admin, main, photos, profiles, social, two_factor

SESSION_LIFETIME = timedelta(days=14)


def create_site(settings: Settings, *, core: SiteCore | None = None) -> Flask:
    """The site app. Embedded mode passes the server's own core; a standalone site process
    gets a private event loop and runtime."""
    if core is None:
        core = SiteCore.standalone(settings)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.signing_key,
        SESSION_COOKIE_NAME="snapscale_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # Flask-Login's remember-me cookie, should it ever be set, like the session's.
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),
        MAX_CONTENT_LENGTH=1024 * 1024,
        **_session_store(settings),
    )
    app.extensions[EXTENSION_KEY] = core
    Session(app)
    if settings.redis_url:
        app.session_interface = ResilientRedisSessionInterface(
            app,
            client=app.config["SESSION_REDIS"],
            key_prefix=app.config["SESSION_KEY_PREFIX"],
        )
    else:
        app.session_interface = LocalSessionInterface(app, client=app.config["SESSION_CACHELIB"])
    # Before CSRFProtect: its check reads the form, and that is when the body limit applies.
    app.before_request(photos.allow_photo_uploads)
    http_layers.install(app, settings)
    CSRFProtect(app)
    auth.install(app)
    errors.install(app)
    formatting.install(app)
    app.add_template_global(navigation.here)
    for blueprint in (
        main.bp,
        accounts.bp,
        two_factor.bp,
        profiles.bp,
        photos.bp,
        social.bp,
        probes.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(admin.bp)
    # Last, so it wraps every other layer: each response gets its request id and is counted.
    site_observability.install(app, core)
    return app


def _session_store(settings: Settings) -> dict[str, object]:
    """Redis when configured (any replica serves any user), else files under data_dir."""
    if settings.redis_url:
        return {
            "SESSION_TYPE": "redis",
            "SESSION_REDIS": redis_clients.sync_client(settings),
            "SESSION_KEY_PREFIX": f"{settings.redis_prefix}session:",
        }
    return {
        "SESSION_TYPE": "cachelib",
        "SESSION_CACHELIB": FileSystemCache(
            str(settings.data_dir / "sessions"), threshold=100_000, mode=0o600
        ),
    }

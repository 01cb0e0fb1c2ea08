"""Security headers on every page and file the site sends.

The content security policy allows only this site's own scripts, styles and forms, and
images from here and from wherever renditions are served (a CDN, or the bucket), plus
blob: for the upload page's preview of the chosen file. Style attributes are allowed
(style-src-attr): the templates set a photo's placeholder colour and shape inline, from
validated values; <style> elements and inline scripts stay forbidden.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.wrappers import Response

from snapscale.config import Settings

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Only over HTTPS (as a trusted proxy reported it): a development host on plain HTTP
# must not be pinned to HTTPS for a year.
HSTS = "max-age=31536000"


def install(app: Flask, settings: Settings) -> None:
    policy = content_security_policy(media_sources(settings))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def content_security_policy(media: list[str]) -> str:
    images = " ".join(["'self'", "blob:", *media])
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; style-src-attr 'unsafe-inline'; "
        f"img-src {images}; "
        "object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def media_sources(settings: Settings) -> list[str]:
    """The origins rendition URLs point at; none beyond the site itself in embedded mode."""
    if settings.storage_url is None:
        return []
    if settings.media_base_url:
        return [_origin(settings.media_base_url)]
    if settings.s3_endpoint_url:  # presigned, path-style: the endpoint's own host
        return [_origin(settings.s3_endpoint_url)]
    # AWS presigns on the bucket's virtual host, or path-style on the regional host for
    # names with dots (TLS wildcard certificates do not cover them).
    bucket = settings.storage_url.removeprefix("s3://").partition("/")[0]
    region = settings.s3_region
    if "." in bucket:
        return [f"https://s3.{region}.amazonaws.com", "https://s3.amazonaws.com"]
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

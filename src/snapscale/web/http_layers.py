"""The site's HTTP layers: trusted proxies, rate limits, compression and security headers."""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

from snapscale.config import Settings
from snapscale.web import ratelimit, security_headers
from snapscale.web.proxies import TrustedProxies

# Pages, and the site's own stylesheet and script. Never images (already compressed), and
# never request bodies: uploads arrive as they were sent.
COMPRESSED_TYPES = ["text/html", "text/css", "text/javascript", "application/json"]
COMPRESS_MIN_BYTES = 500


def install(app: Flask, settings: Settings) -> None:
    """Must run before CSRFProtect: the rate limits count a form before its check reads
    the body (for an upload, the whole photo)."""
    app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]
    ratelimit.install(app)
    app.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_MIN_SIZE=COMPRESS_MIN_BYTES,
        # deflate is left out: clients disagree on what it means (zlib or raw). Static
        # files are streamed, and gzip is what every client accepts.
        COMPRESS_ALGORITHM=["zstd", "br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["zstd", "br", "gzip"],
    )
    Compress(app)
    security_headers.install(app, settings)

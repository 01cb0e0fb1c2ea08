"""The site's HTTP hygiene: compression, security headers (and a policy the pages keep),
cookies and the real client behind trusted proxies."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user
from pydantic import SecretStr
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from snapscale.config import Settings
from snapscale.core.storage import create_storage
from snapscale.web.app import create_site
from snapscale.web.auth import SiteUser
from snapscale.web.core_access import EXTENSION_KEY
from snapscale.web.proxies import TrustedProxies
from tests.support import images
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.web.helpers import SESSION_COOKIE, sign_up
from tests.web.test_photos import finish_jobs, uploaded

GZIP = {"Accept-Encoding": "gzip"}
SITE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


StartSite = Callable[..., Flask]


@pytest.fixture
def start_site(settings: Settings) -> Iterator[StartSite]:
    """Site apps on the test's (or given) settings with changes; closed at the end."""
    apps: list[Flask] = []

    def start(settings_: Settings | None = None, **changes: object) -> Flask:
        app = create_site((settings_ or settings).model_copy(update=changes))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.extensions[EXTENSION_KEY].close()


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


def test_pages_are_compressed_for_browsers_that_accept_it(site: FlaskClient) -> None:
    response = site.get("/signup", headers=GZIP)

    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert b"<!doctype html>" in gzip.decompress(response.get_data())


def test_the_stylesheet_is_compressed_and_images_are_not(site: FlaskClient) -> None:
    stylesheet = site.get("/static/site.css", headers=GZIP)
    icon = site.get("/static/favicon.svg", headers=GZIP)

    assert stylesheet.headers["Content-Encoding"] == "gzip"
    assert b".nav" in gzip.decompress(stylesheet.get_data())
    assert "Content-Encoding" not in icon.headers


def test_no_compression_without_accept_encoding(site: FlaskClient) -> None:
    response = site.get("/signup")

    assert "Content-Encoding" not in response.headers
    assert "<!doctype html>" in response.text


@pytest.mark.parametrize("path", ["/", "/signup", "/no/such/page", "/static/site.css"])
def test_every_response_carries_the_security_headers(site: FlaskClient, path: str) -> None:
    response = site.get(path)

    assert response.headers["Content-Security-Policy"] == SITE_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_pages_keep_the_policy_no_inline_script_or_style_element(site: FlaskClient) -> None:
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(640, 480), "caption")
    finish_jobs(site)

    for path in ("/", "/upload", f"/p/{photo_id}", "/settings", "/explore"):
        page = site.get(path).text
        scripts = re.findall(r"<script\b([^>]*)>", page)
        assert all(re.search(r'\bsrc="/static/', attributes) for attributes in scripts), path
        assert "<style" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path  # no inline event handlers


def test_hsts_only_when_the_request_came_over_https(start_site: StartSite) -> None:
    site = start_site().test_client()

    secure = site.get("/", base_url="https://localhost")
    plain = site.get("/")

    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers


def test_a_trusted_proxy_reports_https_and_a_stranger_cannot(start_site: StartSite) -> None:
    app = start_site(forwarded_allow_ips="10.0.0.0/24")
    proxy = app.test_client()
    proxy.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.0.2.66"
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}

    assert "Strict-Transport-Security" in proxy.get("/", headers=https).headers
    assert "Strict-Transport-Security" not in stranger.get("/", headers=https).headers


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(start_site: StartSite) -> None:
    app = start_site(forwarded_allow_ips="10.0.0.1", rate_limit_per_ip="2/minute")
    proxy = app.test_client()
    proxy.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.0.2.99"

    def status(client: FlaskClient, forwarded_for: str) -> int:
        return client.get("/explore", headers={"X-Forwarded-For": forwarded_for}).status_code

    assert [status(proxy, "198.51.100.1, 10.0.0.1") for _ in range(3)] == [200, 200, 429]
    assert status(proxy, "198.51.100.2") == 200
    # From a peer that is no proxy of ours, the header is a claim: one budget for all.
    assert [status(stranger, f"203.0.113.{n}") for n in range(3)] == [200, 200, 429]


def test_on_a_unix_socket_the_trusted_proxy_names_the_client(start_site: StartSite) -> None:
    trusting = start_site(forwarded_allow_ips="unix", rate_limit_per_ip="2/minute").test_client()
    trusting.environ_base["REMOTE_ADDR"] = ""  # what gunicorn reports for a unix socket
    trusting_none = start_site(rate_limit_per_ip="2/minute").test_client()
    trusting_none.environ_base["REMOTE_ADDR"] = ""

    def status(client: FlaskClient, forwarded_for: str) -> int:
        return client.get("/explore", headers={"X-Forwarded-For": forwarded_for}).status_code

    assert [status(trusting, "198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert status(trusting, "198.51.100.2") == 200
    # No address and no proxy to name one: not one shared budget that refuses everybody.
    assert [status(trusting_none, "198.51.100.1") for _ in range(4)] == [200] * 4


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for"),
    [
        ("10.0.0.1", "10.0.0.1", "198.51.100.1"),
        ("10.0.0.1", "10.0.0.1", "203.0.113.9, 198.51.100.1"),  # a spoofed first entry
        ("10.0.0.0/8", "10.0.0.1", "198.51.100.1, 10.0.0.2"),  # two proxies of ours
        ("10.0.0.0/8", "10.0.0.1", "10.0.0.3, 10.0.0.2"),  # only proxies in the list
        ("10.0.0.1", "10.0.0.1", "198.51.100.1:4711"),
        ("10.0.0.1", "10.0.0.1", "[2001:db8::1]:4711"),
        ("10.0.0.1", "10.0.0.1", "2001:db8::1"),
        ("10.0.0.1", "192.0.2.1", "198.51.100.1"),  # not from a proxy of ours
        ("", "10.0.0.1", "198.51.100.1"),  # no proxy trusted at all
    ],
)
async def test_the_site_finds_the_same_client_as_the_api(
    trusted: str, peer: str, forwarded_for: str
) -> None:
    proxies = [entry for entry in trusted.split(",") if entry]
    seen_by_api: list[str] = []

    async def api(scope: dict, receive: object, send: object) -> None:
        seen_by_api.append(scope["client"][0])

    scope = {
        "type": "http",
        "client": (peer, 1234),
        "scheme": "http",
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    await ProxyHeadersMiddleware(api, trusted_hosts=proxies)(scope, None, None)

    seen_by_site: list[str] = []
    environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded_for}

    def site(environ: dict, start_response: object) -> list[bytes]:
        seen_by_site.append(environ["REMOTE_ADDR"])
        return []

    TrustedProxies(site, proxies)(environ, None)

    assert seen_by_site == seen_by_api


@pytest.mark.parametrize("secure", [False, True])
def test_cookies_are_httponly_lax_and_secure_when_configured(
    start_site: StartSite, secure: bool
) -> None:
    app = start_site(cookie_secure=secure)

    @app.get("/remember-me-for-the-test")
    def remember() -> str:
        login_user(SiteUser(1, "someone", "Someone", False, 0), remember=True)
        return "remembered"

    client = app.test_client()
    # Over plain HTTP the setting alone decides (over HTTPS the session cookie is always
    # Secure: tests/web/test_sessions_security.py).
    set_cookies = [
        *client.get("/login").headers.getlist("Set-Cookie"),
        *client.get("/remember-me-for-the-test").headers.getlist("Set-Cookie"),
    ]
    by_name = {cookie.split("=", 1)[0]: cookie for cookie in set_cookies}

    for name in (SESSION_COOKIE, "remember_token"):
        attributes = {part.strip().lower() for part in by_name[name].split(";")[1:]}
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name
        assert ("secure" in attributes) is secure, name


def test_images_may_come_from_the_cdn(start_site: StartSite) -> None:
    app = start_site(storage_url="s3://photos", media_base_url="https://cdn.example.com/snapscale/")

    policy = directives(app.test_client().get("/").headers["Content-Security-Policy"])

    assert policy["img-src"] == ["'self'", "blob:", "https://cdn.example.com"]


def test_images_may_come_from_the_store_that_presigns_them(
    start_site: StartSite, settings: Settings, s3_server: S3Server, s3_bucket: str
) -> None:
    on_s3 = settings.model_copy(
        update={
            "storage_url": f"s3://{s3_bucket}",
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
        }
    )
    site = start_site(on_s3).test_client()
    sign_up(site)
    photo_id = uploaded(site, images.jpeg(640, 480))
    finish_jobs(site)

    page = site.get(f"/p/{photo_id}")
    sources = re.findall(r'<img class="photo" src="([^"]+)"', page.text)
    policy = directives(page.headers["Content-Security-Policy"])

    assert sources
    assert all(origin(source) in policy["img-src"] for source in sources)


@pytest.mark.parametrize("bucket", ["snapscale-photos", "photos.example.com"])
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_on_aws_the_policy_names_the_host_presigned_urls_use(
    start_site: StartSite, monkeypatch: pytest.MonkeyPatch, bucket: str, region: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    app = start_site(storage_url=f"s3://{bucket}/media", s3_region=region)
    settings_: Settings = app.extensions[EXTENSION_KEY].runtime.settings

    url = create_storage(settings_).url("photos/1/medium.webp")
    policy = directives(app.test_client().get("/").headers["Content-Security-Policy"])

    assert origin(url) in policy["img-src"]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

"""The API's HTTP hygiene: compression, security headers, CORS, trusted proxies and body
limits, as a client (or a browser) sees them."""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from snapscale.config import Settings
from snapscale.core import ratelimit
from tests.api.test_ratelimit import Replicas
from tests.support.factories import register, registration, sign_in, signed_in_user
from tests.support.photos import finish_jobs, upload

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
ORIGIN = "https://app.example.com"


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[Replicas]:
    async with AsyncExitStack() as stack:
        yield Replicas(settings, stack)


async def fetch_raw(
    client: httpx.AsyncClient, method: str, path: str, **kwargs: object
) -> tuple[httpx.Response, bytes]:
    """The response and its body as it travelled, before httpx undoes any encoding."""
    request = client.build_request(method, path, **kwargs)  # type: ignore[arg-type]
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


async def test_json_is_gzipped_for_clients_that_accept_it(api: httpx.AsyncClient) -> None:
    response, body = await fetch_raw(
        api, "GET", "/openapi.json", headers={"Accept-Encoding": "gzip"}
    )

    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(body).startswith(b'{"openapi"')


async def test_problem_documents_are_gzipped_too(api: httpx.AsyncClient) -> None:
    bad = dict.fromkeys(("username", "email", "password", "display_name"), "x" * 200)
    response, body = await fetch_raw(
        api, "POST", "/api/v1/auth/register", json=bad, headers={"Accept-Encoding": "gzip"}
    )

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Content-Encoding"] == "gzip"
    assert b'"status":422' in gzip.decompress(body)


async def test_small_answers_and_clients_without_gzip_get_plain_bodies(
    api: httpx.AsyncClient,
) -> None:
    small, _ = await fetch_raw(api, "GET", "/healthz", headers={"Accept-Encoding": "gzip"})
    plain, body = await fetch_raw(
        api, "GET", "/openapi.json", headers={"Accept-Encoding": "identity"}
    )

    assert "Content-Encoding" not in small.headers
    assert "Content-Encoding" not in plain.headers
    assert body.startswith(b'{"openapi"')


async def test_rendition_files_are_never_recompressed(api: httpx.AsyncClient) -> None:
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers)).json()
    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{photo['id']}", headers=user.headers)).json()
    url = ready["renditions"]["medium"]["url"]

    response, _ = await fetch_raw(api, "GET", url, headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert "Content-Encoding" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == STRICT_CSP


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/nothing/here", "/healthz"])
async def test_json_answers_carry_strict_security_headers(
    api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path)

    assert response.headers["Content-Security-Policy"] == STRICT_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


async def test_swagger_ui_may_load_its_assets_and_run_exactly_its_own_script(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/docs")
    policy = directives(response.headers["Content-Security-Policy"])
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    external = re.findall(r'<script src="(https://[^/"]+)/', response.text)
    stylesheets = re.findall(r'rel="stylesheet" href="(https://[^/"]+)/', response.text)

    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"] == ["'self'", *external, f"'sha256-{digest}'"]
    assert set(stylesheets) <= set(policy["style-src"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["connect-src"] == ["'self'"]  # fetching the schema, trying routes out
    assert policy["frame-ancestors"] == ["'none'"]


async def test_redoc_may_load_its_script_fonts_and_worker(api: httpx.AsyncClient) -> None:
    response = await api.get("/redoc")
    policy = directives(response.headers["Content-Security-Policy"])
    script = re.search(r'<script src="(https://[^/"]+)/', response.text)
    fonts = re.search(r'<link href="(https://[^/"]+)/', response.text)

    assert script is not None and script.group(1) in policy["script-src"]
    assert fonts is not None and fonts.group(1) in policy["style-src"]
    assert "https://fonts.gstatic.com" in policy["font-src"]
    assert "blob:" in policy["worker-src"]


async def test_hsts_only_over_https(replicas: Replicas) -> None:
    app = await replicas.start()
    secure = await replicas.client(app, base_url="https://testserver")
    plain = await replicas.client(app)

    assert (await secure.get("/api/v1/users")).headers["Strict-Transport-Security"] == (
        "max-age=31536000"
    )
    assert "Strict-Transport-Security" not in (await plain.get("/api/v1/users")).headers


async def test_a_trusted_proxy_reports_the_scheme_and_a_stranger_cannot(replicas: Replicas) -> None:
    app = await replicas.start(forwarded_allow_ips="10.0.0.0/24")
    proxy = await replicas.client(app, "10.0.0.5")
    stranger = await replicas.client(app, "192.0.2.66")
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}

    assert "Strict-Transport-Security" in (await proxy.get("/healthz", headers=https)).headers
    assert (
        "Strict-Transport-Security" not in (await stranger.get("/healthz", headers=https)).headers
    )


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(replicas: Replicas) -> None:
    app = await replicas.start(forwarded_allow_ips="10.0.0.1", rate_limit_per_ip="2/minute")
    proxy = await replicas.client(app, "10.0.0.1")

    async def status(client: str) -> int:
        # What a second proxy in front would add: the client, then the first proxy.
        headers = {"X-Forwarded-For": f"{client}, 10.0.0.1"}
        return (await proxy.get("/api/v1/users", headers=headers)).status_code

    assert [await status("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert await status("198.51.100.2") == 200


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(replicas: Replicas) -> None:
    app = await replicas.start(forwarded_allow_ips="10.0.0.1", rate_limit_per_ip="2/minute")
    stranger = await replicas.client(app, "192.0.2.99")

    statuses = [
        (
            await stranger.get("/api/v1/users", headers={"X-Forwarded-For": f"203.0.113.{n}"})
        ).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]  # one budget: the headers were a claim, not a fact


async def test_on_a_unix_socket_a_trusted_proxy_names_the_client(replicas: Replicas) -> None:
    app = await replicas.start(forwarded_allow_ips="unix", rate_limit_per_ip="2/minute")
    proxy = await replicas.client(app, None)

    async def status(client: str) -> int:
        return (await proxy.get("/api/v1/users", headers={"X-Forwarded-For": client})).status_code

    assert [await status("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert await status("198.51.100.2") == 200


async def test_on_a_unix_socket_with_no_trusted_proxy_addresses_are_not_limited(
    replicas: Replicas, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_unknown_client_noted", False)  # logged once a process
    app = await replicas.start(
        rate_limit_per_ip="2/minute",
        rate_limit_login="2/minute",
        rate_limit_login_per_account="2/minute",
    )
    anonymous = await replicas.client(app, None)
    user = await register(anonymous)

    with caplog.at_level(logging.WARNING, logger="snapscale.core.ratelimit"):
        statuses = [(await anonymous.get("/api/v1/users")).status_code for _ in range(4)]
        log_ins = [
            (await sign_in(anonymous, user["username"], "wrong-9")).status_code for _ in range(3)
        ]

    # Counted as one client, every request would soon refuse everybody.
    assert statuses == [200] * 4
    assert "RateLimit-Limit" not in (await anonymous.get("/api/v1/users")).headers
    # What needs no address still holds: the account name's own limit.
    assert log_ins == [401, 401, 429]
    notes = [
        record.getMessage()
        for record in caplog.records
        if "no client address" in record.getMessage()
    ]
    assert len(notes) == 1
    assert "SNAPSCALE_FORWARDED_ALLOW_IPS=unix" in notes[0]


async def test_no_cors_headers_unless_origins_are_configured(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/users", headers={"Origin": ORIGIN})
    preflight = await api.options(
        "/api/v1/users/me",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH"},
    )

    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in preflight.headers


async def test_a_configured_origin_may_call_the_api_with_a_bearer_token(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(cors_origins=f"{ORIGIN}, https://b.example"))
    user = await signed_in_user(api)

    preflight = await api.options(
        "/api/v1/users/me",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    actual = await api.get("/api/v1/users/me", headers={"Origin": ORIGIN, **user.headers})
    foreign = await api.options(
        "/api/v1/users/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"},
    )

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert actual.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ratelimit-remaining" in actual.headers["Access-Control-Expose-Headers"].lower()
    assert foreign.status_code == 400
    assert "Access-Control-Allow-Origin" not in foreign.headers


async def test_any_origin_never_comes_with_credentials(replicas: Replicas) -> None:
    api = await replicas.client(await replicas.start(cors_origins="*"))

    response = await api.get("/api/v1/users", headers={"Origin": "https://anywhere.example"})

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_a_refusal_is_readable_by_a_cross_origin_page(replicas: Replicas) -> None:
    app = await replicas.start(cors_origins=ORIGIN, rate_limit_per_ip="1/minute")
    api = await replicas.client(app)

    await api.get("/api/v1/users", headers={"Origin": ORIGIN})
    refused = await api.get("/api/v1/users", headers={"Origin": ORIGIN})

    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "retry-after" in refused.headers["Access-Control-Expose-Headers"].lower()


async def test_a_json_body_over_the_limit_is_a_413_problem(api: httpx.AsyncClient) -> None:
    data = registration()
    data["display_name"] = "x" * (1024 * 1024 + 1)

    response = await api.post("/api/v1/auth/register", json=data)

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert (await api.get(f"/api/v1/users/{data['username']}")).status_code == 404


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed

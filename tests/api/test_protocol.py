"""The API's contract beyond single routes: problem+json everywhere, docs, health."""

import httpx
from asgi_lifespan import LifespanManager

from snapscale.api.app import create_api


async def test_unknown_route_is_a_404_problem(api):
    response = await api.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "There is nothing at /api/v1/no/such/thing.",
        "instance": "/api/v1/no/such/thing",
    }


async def test_wrong_method_is_a_405_problem_with_allow(api):
    response = await api.delete("/api/v1/auth/register")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert "POST" in response.headers["allow"]


async def test_docs_and_schema_are_served(api):
    for path in ("/docs", "/redoc"):
        response = await api.get(path)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
    schema = (await api.get("/openapi.json")).json()
    assert "/api/v1/auth/register" in schema["paths"]
    assert "OAuth2PasswordBearer" in schema["components"]["securitySchemes"]
    flow = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/api/v1/auth/token"  # what the docs' Authorize button calls


async def test_healthz(api):
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_an_unexpected_error_is_a_500_problem_without_internals(settings):
    app = create_api(settings)

    @app.get("/api/v1/explode")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    async with LifespanManager(app):
        # As a server would: the exception reaches the log, the client gets the problem.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/v1/explode")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text

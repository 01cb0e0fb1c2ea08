"""Photos on an S3-compatible store (a real S3 HTTP endpoint), and when it is down."""

import asyncio
import urllib.request

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from snapscale.api.app import create_api
from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, upload
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.servers import free_port


def _s3_settings(settings, endpoint: str, bucket: str, **extra):
    return settings.model_copy(
        update={
            "storage_url": f"s3://{bucket}/media",
            "s3_endpoint_url": endpoint,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
            **extra,
        }
    )


@pytest.fixture
async def api_on(request):
    """Makes an API client for given settings; closed at the end of the test."""
    stack = []

    async def make(settings) -> httpx.AsyncClient:
        app = create_api(settings)
        manager = LifespanManager(app)
        await manager.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        )
        client.runtime = app.state.runtime
        stack.append((manager, client))
        return client

    yield make
    for manager, client in reversed(stack):
        await client.aclose()
        await manager.__aexit__(None, None, None)


async def test_photos_live_in_the_bucket_and_are_fetched_from_it(
    settings, s3_server, s3_bucket, api_on
):
    api = await api_on(_s3_settings(settings, s3_server.endpoint_url, s3_bucket))
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(800, 600, gps=True))).json()
    await finish_jobs(api)

    ready = (await api.get(f"/api/v1/photos/{photo['id']}")).json()
    keys = sorted(
        item["Key"] for item in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    )
    assert keys == [
        f"media/photos/{photo['id']}/{name}"
        for name in ("large.webp", "medium.webp", "original", "thumb.webp")
    ]
    url = ready["renditions"]["medium"]["url"]
    assert url.startswith(s3_server.endpoint_url)  # presigned, straight from the store
    response = await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
    with response:
        body = response.read()
        assert response.headers["Content-Type"] == "image/webp"
        assert "immutable" in response.headers["Cache-Control"]
    assert images.metadata_fields(body) == set()


async def test_a_public_media_base_url_gives_cdn_urls(settings, s3_server, s3_bucket, api_on):
    api = await api_on(
        _s3_settings(
            settings, s3_server.endpoint_url, s3_bucket, media_base_url="https://cdn.example/"
        )
    )
    user = await signed_in_user(api)
    photo = (await upload(api, user.headers, images.jpeg(400, 300))).json()
    await finish_jobs(api)
    ready = (await api.get(f"/api/v1/photos/{photo['id']}")).json()
    assert (
        ready["renditions"]["thumb"]["url"]
        == f"https://cdn.example/media/photos/{photo['id']}/thumb.webp"
    )


async def test_store_unavailable_during_upload_is_a_503_and_nothing_is_recorded(settings, api_on):
    dead = f"http://127.0.0.1:{free_port()}"
    api = await api_on(_s3_settings(settings, dead, "nowhere"))
    user = await signed_in_user(api)

    response = await upload(api, user.headers, images.jpeg(400, 300))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert SECRET_KEY not in response.text
    page = (await api.get(f"/api/v1/users/{user.username}/photos", headers=user.headers)).json()
    assert page["items"] == []

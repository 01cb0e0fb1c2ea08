"""The home feed stays correct: follows, unfollows, deletes, big accounts, lost caches.

Runs on both stacks: [sqlite] reads feeds from SQL; [postgresql] uses Redis timelines
fanned out on write. Both must show the same thing."""

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from sqlalchemy import select, update

from snapscale.api.app import create_api
from snapscale.core.accounts import service as account_service
from snapscale.core.models import User
from tests.support import images
from tests.support.factories import signed_in_user
from tests.support.photos import finish_jobs, upload
from tests.support.servers import flush_prefix


async def _post(api, user, seed: int = 0) -> str:
    photo = (await upload(api, user.headers, images.jpeg(64, 48, seed=seed))).json()
    await finish_jobs(api)
    return photo["id"]


async def _feed_ids(api, user, **params) -> list[str]:
    response = await api.get("/api/v1/feed", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _follow(api, reader, author) -> None:
    response = await api.put(f"/api/v1/users/{author.username}/follow", headers=reader.headers)
    assert response.status_code == 204
    await finish_jobs(api)


def _flush_redis(settings) -> None:
    if settings.redis_url:
        flush_prefix(settings.redis_url, settings.redis_prefix)


async def test_the_feed_needs_a_signed_in_reader(api):
    assert (await api.get("/api/v1/feed")).status_code == 401


async def test_own_and_followed_photos_newest_first_with_details(api):
    reader = await signed_in_user(api)
    author = await signed_in_user(api)
    stranger = await signed_in_user(api)
    await _follow(api, reader, author)
    first = await _post(api, author, 1)
    mine = await _post(api, reader, 2)
    await _post(api, stranger, 3)
    last = await _post(api, author, 4)
    await api.put(f"/api/v1/photos/{last}/like", headers=reader.headers)

    page = (await api.get("/api/v1/feed", headers=reader.headers)).json()

    assert [item["id"] for item in page["items"]] == [last, mine, first]
    top = page["items"][0]
    assert top["owner"]["username"] == author.username
    assert top["liked_by_me"] is True
    assert top["like_count"] == 1
    assert set(top["renditions"]) == {"thumb", "medium", "large"}


async def test_follow_backfills_and_new_photos_appear(api):
    reader = await signed_in_user(api)
    author = await signed_in_user(api)
    await _feed_ids(api, reader)  # the reader's timeline exists before the follow
    older = await _post(api, author, 1)

    await _follow(api, reader, author)
    assert await _feed_ids(api, reader) == [older]

    newer = await _post(api, author, 2)
    assert await _feed_ids(api, reader) == [newer, older]


async def test_unfollow_takes_their_photos_out(api):
    reader = await signed_in_user(api)
    author = await signed_in_user(api)
    await _follow(api, reader, author)
    await _post(api, author)
    assert len(await _feed_ids(api, reader)) == 1

    await api.delete(f"/api/v1/users/{author.username}/follow", headers=reader.headers)
    await finish_jobs(api)

    assert await _feed_ids(api, reader) == []


async def test_a_deleted_photo_is_gone_from_every_feed(api):
    author = await signed_in_user(api)
    readers = [await signed_in_user(api) for _ in range(3)]
    for reader in readers:
        await _follow(api, reader, author)
    kept = await _post(api, author, 1)
    doomed = await _post(api, author, 2)
    for reader in readers:
        assert await _feed_ids(api, reader) == [doomed, kept]

    await api.delete(f"/api/v1/photos/{doomed}", headers=author.headers)

    for reader in [*readers, author]:
        assert await _feed_ids(api, reader) == [kept]  # at once, before any clean-up job
    await finish_jobs(api)
    for reader in readers:
        assert await _feed_ids(api, reader) == [kept]


async def test_cursors_are_stable_while_new_photos_arrive(api):
    reader = await signed_in_user(api)
    author = await signed_in_user(api)
    await _follow(api, reader, author)
    posted = [await _post(api, author, n) for n in range(5)]

    seen: list[str] = []
    cursor = None
    for n in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/api/v1/feed", headers=reader.headers, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await _post(api, author, 100 + n)  # arrives between pages

    assert seen == list(reversed(posted))


async def test_flushing_redis_changes_nothing_a_reader_sees(api, settings):
    reader = await signed_in_user(api)
    authors = [await signed_in_user(api) for _ in range(3)]
    for author in authors:
        await _follow(api, reader, author)
    for n, author in enumerate(authors * 2):
        await _post(api, author, n)
    before = await _feed_ids(api, reader, limit=4)
    before_all = await _feed_ids(api, reader, limit=100)
    if settings.redis_url:  # the production stack really served it from a timeline
        client = redis.Redis.from_url(settings.redis_url)
        assert client.keys(f"{settings.redis_prefix}timeline:*")
        client.close()

    _flush_redis(settings)

    assert await _feed_ids(api, reader, limit=4) == before
    assert await _feed_ids(api, reader, limit=100) == before_all
    new = await _post(api, authors[0], 99)  # fan-out after the flush, then read again
    assert await _feed_ids(api, reader, limit=100) == [new, *before_all]


@pytest.fixture
async def small_fanout_api(settings):
    """An API where accounts with more than 2 followers count as big accounts."""
    app = create_api(settings.model_copy(update={"feed_fanout_max_followers": 2}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.runtime = app.state.runtime
            yield client


async def test_a_big_accounts_photos_reach_all_its_followers(small_fanout_api, settings):
    api = small_fanout_api
    celebrity = await signed_in_user(api)
    fans = [await signed_in_user(api) for _ in range(4)]
    friend = await signed_in_user(api)
    for fan in fans:
        await _follow(api, fan, celebrity)
        await _follow(api, fan, friend)
    friend_photo = await _post(api, friend, 1)
    star_photo = await _post(api, celebrity, 2)
    assert (await api.get(f"/api/v1/users/{celebrity.username}")).json()["followers_count"] == 4

    for fan in fans:
        assert await _feed_ids(api, fan) == [star_photo, friend_photo]
    assert await _feed_ids(api, celebrity) == [star_photo]
    _flush_redis(settings)
    for fan in fans:
        assert await _feed_ids(api, fan) == [star_photo, friend_photo]


async def test_an_account_crossing_the_big_threshold_stays_in_its_followers_feeds(
    small_fanout_api,
):
    api = small_fanout_api
    star, first_fan, second_fan, passer_by, newcomer = [await signed_in_user(api) for _ in range(5)]
    for fan in (first_fan, second_fan):
        await _follow(api, fan, star)
        await _feed_ids(api, fan)  # timelines and big-followee lists now exist
    fanned_out = await _post(api, star, 1)

    await _follow(api, passer_by, star)  # 3 followers: now merged at read time
    merged = await _post(api, star, 2)
    for fan in (first_fan, second_fan, passer_by):
        assert await _feed_ids(api, fan) == [merged, fanned_out]

    unfollowed = await api.delete(
        f"/api/v1/users/{star.username}/follow", headers=passer_by.headers
    )
    assert unfollowed.status_code == 204
    await finish_jobs(api)  # 2 followers again: fanned out from now on
    # Following someone new makes the feed recompute which big accounts it merges; the
    # photo posted while the star was big must still be there.
    await _follow(api, first_fan, newcomer)
    later = await _post(api, star, 3)
    for fan in (first_fan, second_fan):
        assert await _feed_ids(api, fan) == [later, merged, fanned_out]
    assert await _feed_ids(api, passer_by) == []


async def test_a_deactivated_accounts_photos_leave_feeds_and_explore(api):
    reader, author, moderator = [await signed_in_user(api) for _ in range(3)]
    await _follow(api, reader, author)
    photo = await _post(api, author, 1)
    assert await _feed_ids(api, reader) == [photo]
    runtime = api.runtime
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(User).where(User.username == moderator.username).values(is_admin=True)
        )
        ids = dict((await uow.session.execute(select(User.username, User.id))).all())
        await uow.commit()

    await runtime.run(
        account_service.deactivate,
        user_id=ids[author.username],
        admin_id=ids[moderator.username],
    )

    assert await _feed_ids(api, reader) == []
    explored = (await api.get("/api/v1/explore")).json()["items"]
    assert photo not in [item["id"] for item in explored]


async def test_explore_ranks_recent_photos_by_likes(api):
    author = await signed_in_user(api)
    fans = [await signed_in_user(api) for _ in range(3)]
    plain = await _post(api, author, 1)
    loved = await _post(api, author, 2)
    for fan in fans:
        await api.put(f"/api/v1/photos/{loved}/like", headers=fan.headers)

    page = (await api.get("/api/v1/explore")).json()

    ids = [item["id"] for item in page["items"]]
    assert ids.index(loved) < ids.index(plain)
    assert all(item["liked_by_me"] is None for item in page["items"])

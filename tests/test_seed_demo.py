"""`snapscale seed-demo`, as someone preparing a demo or a load test uses it."""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from snapscale.cli import main
from snapscale.config import Settings
from snapscale.core.accounts import service as account_service
from snapscale.core.models import Comment, Follow, Like, Photo, PhotoStatus, User
from snapscale.core.runtime import Runtime
from snapscale.demo.graph import make_plan
from tests.conftest import TEST_SECRET
from tests.support.servers import settings_env

USERS, FANS = 30, 25
SEED_DEMO = ["seed-demo", "--users", str(USERS), "--photos-per-user", "1"]
SEED_DEMO += ["--celebrity-followers", str(FANS)]
PASSWORD = "demo-password-123"


@dataclass(frozen=True)
class World:
    """A seeded database as its readers see it, next to the rows behind the counters."""

    followers: dict[str, int]  # username -> followers_count column
    following: dict[str, int]
    photos: dict[str, int]
    follower_rows: dict[str, int]  # username -> rows in follows
    following_rows: dict[str, int]
    ready_photo_rows: dict[str, int]
    photo_statuses: list[str]
    like_counts: list[tuple[int, int]]  # (like_count column, likes rows) per photo
    comment_counts: list[tuple[int, int]]
    celebrity_followers_shown: int  # in the public profile, through the service
    media_keys: list[str]


def _seed(settings: Settings, *extra: str) -> Result:
    return CliRunner().invoke(main, [*SEED_DEMO, *extra], env=settings_env(settings))


def _look(settings: Settings) -> World:
    async def look() -> World:
        runtime = Runtime(settings)
        try:
            async with runtime.unit_of_work() as uow:
                session = uow.session
                users = (
                    await session.execute(
                        select(
                            User.id,
                            User.username,
                            User.followers_count,
                            User.following_count,
                            User.photos_count,
                        )
                    )
                ).all()

                async def rows_per_user(column: Any, *where: Any) -> dict[str, int]:
                    query = select(column, func.count()).where(*where).group_by(column)
                    counted: dict[int, int] = dict((await session.execute(query)).all())
                    return {user.username: counted.get(user.id, 0) for user in users}

                likes = select(func.count()).where(Like.photo_id == Photo.id).scalar_subquery()
                comments = (
                    select(func.count()).where(Comment.photo_id == Photo.id).scalar_subquery()
                )
                query = select(Photo.status, Photo.like_count, likes, Photo.comment_count, comments)
                photos = (await session.execute(query)).all()
                follower_rows = await rows_per_user(Follow.followee_id)
                following_rows = await rows_per_user(Follow.follower_id)
                ready_rows = await rows_per_user(Photo.owner_id, Photo.status == PhotoStatus.READY)
            celebrity = await runtime.run(
                account_service.get_public_profile, username="demo_celebrity"
            )
            return World(
                followers={user.username: user.followers_count for user in users},
                following={user.username: user.following_count for user in users},
                photos={user.username: user.photos_count for user in users},
                follower_rows=follower_rows,
                following_rows=following_rows,
                ready_photo_rows=ready_rows,
                photo_statuses=[status for status, *_ in photos],
                like_counts=[(stored, rows) for _, stored, rows, _, _ in photos],
                comment_counts=[(stored, rows) for _, _, _, stored, rows in photos],
                celebrity_followers_shown=celebrity.followers_count,
                media_keys=await runtime.storage.list_keys("photos/"),
            )
        finally:
            await runtime.aclose()

    return asyncio.run(look())


def _can_sign_in(settings: Settings, login: str) -> bool:
    async def sign_in() -> bool:
        runtime = Runtime(settings)
        try:
            user = await runtime.run(account_service.authenticate, login=login, password=PASSWORD)
            return user.username == login
        finally:
            await runtime.aclose()

    return asyncio.run(sign_in())


def _assert_world_is_consistent(world: World) -> None:
    assert len(world.followers) == USERS
    assert world.followers["demo_celebrity"] == FANS
    assert world.follower_rows["demo_celebrity"] == FANS
    assert world.celebrity_followers_shown == FANS
    # Every counter equals the rows it counts.
    assert world.followers == world.follower_rows
    assert world.following == world.following_rows
    assert world.photos == world.ready_photo_rows
    assert all(stored == rows for stored, rows in world.like_counts)
    assert all(stored == rows for stored, rows in world.comment_counts)
    # Real photos, really processed: every one is ready and has its files stored.
    assert len(world.photo_statuses) == USERS  # one per user on average
    assert set(world.photo_statuses) == {PhotoStatus.READY}
    assert any(key.endswith("/thumb.webp") for key in world.media_keys)
    assert sum(rows for _, rows in world.like_counts) > 0
    assert sum(rows for _, rows in world.comment_counts) > 0
    # Skewed: a few popular accounts, a long tail.
    others = [count for name, count in world.followers.items() if name != "demo_celebrity"]
    assert max(others) >= 2 * statistics.median(others)
    assert max(world.photos.values()) > 1  # some post more than others


def test_seed_demo_builds_a_consistent_skewed_world(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "first", secret_key=TEST_SECRET)

    result = _seed(settings)

    assert result.exit_code == 0, result.output
    assert f"log in as demo_0001 / {PASSWORD}" in result.output
    assert f"demo_celebrity has {FANS} followers" in result.output
    assert f"users {USERS}/{USERS}" in result.output
    world = _look(settings)
    _assert_world_is_consistent(world)
    assert _can_sign_in(settings, "demo_0001")
    assert _can_sign_in(settings, "demo_celebrity")

    again = _seed(settings)
    assert again.exit_code == 1
    assert "demo data is already there" in again.output
    assert len(again.output.strip().splitlines()) == 1
    assert _look(settings).followers == world.followers  # nothing was added

    twin = Settings(data_dir=tmp_path / "second", secret_key=TEST_SECRET)
    assert _seed(twin).exit_code == 0
    twin_world = _look(twin)  # same seed, same world
    assert twin_world.followers == world.followers
    assert twin_world.following == world.following
    assert twin_world.photos == world.photos


def test_another_seed_gives_another_graph() -> None:
    def plan(seed: int) -> list[tuple[int, int]]:
        return make_plan(users=200, photos_per_user=1, seed=seed, celebrity_followers=150).follows

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)


def test_seed_demo_needs_two_users(tmp_path: Path) -> None:
    env = {"SNAPSCALE_DATA_DIR": str(tmp_path), "SNAPSCALE_SECRET_KEY": TEST_SECRET}
    result = CliRunner().invoke(main, ["seed-demo", "--users", "1"], env=env)
    assert result.exit_code == 2
    assert "--users" in result.output
    assert not (tmp_path / "snapscale.db").exists()


@pytest.mark.parametrize("stack", ["postgresql"])
def test_seed_demo_on_postgresql_and_redis(settings: Settings) -> None:
    result = _seed(settings)

    assert result.exit_code == 0, result.output
    _assert_world_is_consistent(_look(settings))
    assert _can_sign_in(settings, "demo_0001")
    assert _seed(settings).exit_code == 1

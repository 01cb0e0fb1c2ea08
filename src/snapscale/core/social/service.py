"""Following, likes and comments. Called by the API and the site alike."""

from __future__ import annotations

from collections.abc import Sequence

from snapscale.core.accounts import repository as account_repository
from snapscale.core.accounts import service as account_service
from snapscale.core.accounts.schemas import PublicProfile
from snapscale.core.db import UnitOfWork
from snapscale.core.errors import InvalidInput, NotFound, PermissionDenied
from snapscale.core.feed import service as feed_service
from snapscale.core.ids import new_id
from snapscale.core.models import Comment, User
from snapscale.core.pagination import Page, decode_cursor, encode_cursor
from snapscale.core.photos import service as photo_service
from snapscale.core.photos.schemas import Owner
from snapscale.core.social import repository
from snapscale.core.social.schemas import CommentOut, NewComment


async def follow(uow: UnitOfWork, *, follower_id: int, username: str) -> None:
    """Idempotent: following someone you already follow changes nothing."""
    followee = await _active_user(uow, username)
    if followee.id == follower_id:
        raise InvalidInput.for_field("username", "you cannot follow yourself", location="path")
    followers = await repository.add_follow(uow.session, follower_id, followee.id)
    if followers is not None:
        await _counts_changed(uow, follower_id, followee)
        await feed_service.followed(
            uow, follower_id=follower_id, followee=followee, followers_now=followers
        )


async def unfollow(uow: UnitOfWork, *, follower_id: int, username: str) -> None:
    followee = await _active_user(uow, username)
    followers = await repository.remove_follow(uow.session, follower_id, followee.id)
    if followers is not None:
        await _counts_changed(uow, follower_id, followee)
        await feed_service.unfollowed(
            uow, follower_id=follower_id, followee=followee, followers_now=followers
        )


async def is_following(uow: UnitOfWork, *, follower_id: int, username: str) -> bool:
    followee = await _active_user(uow, username)
    return await repository.is_following(uow.session, follower_id, followee.id)


async def list_followers(
    uow: UnitOfWork, *, username: str, cursor: str | None, limit: int
) -> Page[PublicProfile]:
    user = await _active_user(uow, username)
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    rows = await repository.followers(uow.session, user.id, before_id=before_id, limit=limit + 1)
    return _people_page(rows, limit)


async def list_following(
    uow: UnitOfWork, *, username: str, cursor: str | None, limit: int
) -> Page[PublicProfile]:
    user = await _active_user(uow, username)
    before_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    rows = await repository.following(uow.session, user.id, before_id=before_id, limit=limit + 1)
    return _people_page(rows, limit)


async def like(uow: UnitOfWork, *, photo_id: int, user_id: int) -> None:
    await photo_service.visible_photo(uow, photo_id=photo_id, viewer_id=user_id)
    if await repository.add_like(uow.session, photo_id, user_id):
        photo_service.invalidate_card(uow, photo_id)


async def unlike(uow: UnitOfWork, *, photo_id: int, user_id: int) -> None:
    await photo_service.visible_photo(uow, photo_id=photo_id, viewer_id=user_id)
    if await repository.remove_like(uow.session, photo_id, user_id):
        photo_service.invalidate_card(uow, photo_id)


async def add_comment(
    uow: UnitOfWork, *, photo_id: int, author_id: int, comment: NewComment
) -> CommentOut:
    await photo_service.visible_photo(uow, photo_id=photo_id, viewer_id=author_id)
    author = await account_repository.get_user(uow.session, author_id)
    assert author is not None
    row = Comment(id=new_id(), photo_id=photo_id, author_id=author_id, text=comment.text)
    await repository.add_comment(uow.session, row)
    photo_service.invalidate_card(uow, photo_id)
    return _comment_out(row, author)


async def list_comments(
    uow: UnitOfWork, *, photo_id: int, viewer_id: int | None, cursor: str | None, limit: int
) -> Page[CommentOut]:
    """Oldest first: a conversation reads top to bottom."""
    await photo_service.visible_photo(uow, photo_id=photo_id, viewer_id=viewer_id)
    after_id = int(decode_cursor(cursor, int)[0]) if cursor else None
    rows = await repository.comments(uow.session, photo_id, after_id=after_id, limit=limit + 1)
    items = [_comment_out(comment, author) for comment, author in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return Page[CommentOut](items=items, next_cursor=next_cursor)


async def delete_comment(uow: UnitOfWork, *, comment_id: int, user_id: int) -> None:
    """The comment's author and the photo's owner may delete it."""
    comment = await repository.get_comment(uow.session, comment_id)
    if comment is None:
        raise NotFound("There is no such comment.")
    photo = await photo_service.visible_photo(uow, photo_id=comment.photo_id, viewer_id=user_id)
    if user_id not in (comment.author_id, photo.owner_id):
        raise PermissionDenied("Only the comment's author or the photo's owner may delete it.")
    await repository.remove_comment(uow.session, comment)
    photo_service.invalidate_card(uow, comment.photo_id)


async def _active_user(uow: UnitOfWork, username: str) -> User:
    user = await account_repository.get_user_by_username(uow.session, username.lower())
    if user is None or not user.is_active:
        raise NotFound(f"There is no user called {username!r}.")
    return user


async def _counts_changed(uow: UnitOfWork, follower_id: int, followee: User) -> None:
    follower = await account_repository.get_user(uow.session, follower_id)
    for user in (follower, followee):
        if user is not None:
            account_service.invalidate_profile(uow, user.username)


def _people_page(rows: Sequence[tuple[int, User]], limit: int) -> Page[PublicProfile]:
    items = [PublicProfile.model_validate(user) for _, user in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return Page[PublicProfile](items=items, next_cursor=next_cursor)


def _comment_out(comment: Comment, author: User) -> CommentOut:
    return CommentOut(
        id=comment.id,
        text=comment.text,
        author=Owner(id=author.id, username=author.username, display_name=author.display_name),
        created_at=comment.created_at,
    )

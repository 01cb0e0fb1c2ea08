"""Two people in two browsers against the real server: one follows the other, sees the
other's new photo arrive in the home feed, likes it and comments on it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_photo_flow import image_loaded, sign_up
from tests.support import images

FEED_SECONDS = 30


def wait_for_post(page: Page, server: str, photo_id: str) -> None:
    """Reload the home feed until the photo is on it (processing and fan-out take a moment)."""
    card = page.locator(f"#photo-{photo_id}")
    deadline = time.monotonic() + FEED_SECONDS
    while True:
        page.goto(server + "/")
        if card.count():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"photo {photo_id} did not reach the feed in {FEED_SECONDS}s")
        page.wait_for_timeout(500)


@pytest.mark.browser
def test_follow_see_the_photo_in_the_feed_like_and_comment(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    photo = tmp_path / "lighthouse.jpg"
    photo.write_bytes(images.jpeg(1200, 900, seed=4))
    author = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    reader = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    for page in (author, reader):
        page.set_default_timeout(10_000)
    sign_up(author, server, "ada")
    sign_up(reader, server, "bob")

    # Bob follows Ada from her profile; the button flips and the count moves.
    reader.goto(server + "/u/ada")
    expect(reader.locator(".stats")).to_contain_text("0 followers")
    reader.get_by_role("button", name="Follow", exact=True).click()
    expect(reader).to_have_url(server + "/u/ada")
    expect(reader.get_by_text("You are following @ada.")).to_be_visible()
    expect(reader.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(reader.locator(".stats")).to_contain_text("1 follower")

    # Ada posts a photo.
    author.goto(server + "/upload")
    author.get_by_label("Photo", exact=True).set_input_files(photo)
    author.get_by_label("Caption").fill("Lighthouse, first light")
    author.get_by_role("button", name="Upload").click()
    expect(author).to_have_url(re.compile(re.escape(server) + r"/p/[0-9]+$"))
    photo_id = author.url.rsplit("/", 1)[1]

    # It reaches Bob's home feed.
    wait_for_post(reader, server, photo_id)
    card = reader.locator(f"#photo-{photo_id}")
    expect(card).to_contain_text("Lighthouse, first light")
    expect(card).to_contain_text("@ada")
    image_loaded(reader, f"#photo-{photo_id} img")

    # Bob likes it from the feed and comes back to the same card.
    card.get_by_role("button", name="Like", exact=True).click()
    expect(reader).to_have_url(f"{server}/#photo-{photo_id}")
    expect(card.get_by_role("button", name="Unlike")).to_be_visible()
    expect(card.locator(".like-count")).to_have_text("1 like")

    # And comments on the photo page.
    card.get_by_role("link", name="0 comments").click()
    expect(reader).to_have_url(f"{server}/p/{photo_id}#comments")
    reader.get_by_role("textbox", name="Comment").fill("What a view!\nWorth the early start.")
    reader.get_by_role("button", name="Post").click()
    expect(reader).to_have_url(re.compile(re.escape(f"{server}/p/{photo_id}#comment-") + "[0-9]+$"))
    expect(reader.get_by_text("Your comment is posted.")).to_be_visible()
    posted = reader.locator(".comment-list .comment")
    expect(posted).to_have_count(1)
    expect(posted.locator(".comment-text")).to_have_text("What a view!\nWorth the early start.")
    expect(reader.locator(".comments-count")).to_have_text("1 comment")
    expect(reader.locator(".photo-social .like-count")).to_have_text("1 like")

    # Ada sees the like and the comment on her photo.
    author.reload()
    expect(author.locator(".photo-social .like-count")).to_have_text("1 like")
    expect(author.locator(".comment-text")).to_have_text("What a view!\nWorth the early start.")
    for page in (author, reader):
        page.context.close()

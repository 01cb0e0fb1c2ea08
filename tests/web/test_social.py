"""Following, the home feed, Explore, likes and comments on the site, as people use them:
plain forms that come back to the page they were on."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from snapscale.core.feed.explore import RANKING_KEY
from snapscale.web.core_access import EXTENSION_KEY, SiteCore
from snapscale.web.views import main, photos, profiles
from tests.support import images
from tests.web.helpers import csrf_token, sign_up, submit
from tests.web.test_photos import finish_jobs, grid_links, uploaded

SCRIPT = "<script>alert('owned')</script>"
IMAGE_TAG = '"><img src=x onerror=alert(1)>'
POST = re.compile(r'<article class="post" id="photo-([0-9]+)"')
COMMENT = re.compile(r'<li class="comment" id="comment-([0-9]+)">')
COMMENT_TEXT = re.compile(r'<p class="comment-text">(.*?)</p>', re.S)
DELETE_COMMENT = re.compile(r'action="/comments/([0-9]+)/delete"')
STAT = re.compile(r"<strong>([0-9,]+)</strong> (photos?|followers?|following)")


# Driving the forms


def follow(client: FlaskClient, username: str, *, via: str | None = None) -> str:
    """Press Follow on ``via`` (the profile by default); returns where the site went next."""
    page = via or f"/u/{username}"
    response = submit(client, page, {"next": page}, action=f"/u/{username}/follow")
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def unfollow(client: FlaskClient, username: str) -> str:
    page = f"/u/{username}"
    response = submit(client, page, {"next": page}, action=f"/u/{username}/unfollow")
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def comment(client: FlaskClient, photo_id: str, text: str) -> str:
    """Post a comment from the photo page; returns its id."""
    response = submit(client, f"/p/{photo_id}", {"text": text}, action=f"/p/{photo_id}/comments")
    assert response.status_code == 303, response.text
    found = re.fullmatch(rf"/p/{photo_id}#comment-([0-9]+)", response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return found.group(1)


def delete_comment(client: FlaskClient, photo_id: str, comment_id: str) -> int:
    page = f"/p/{photo_id}"
    response = submit(
        client, page, {"next": f"{page}#comments"}, action=f"/comments/{comment_id}/delete"
    )
    return response.status_code


def ready_photo(client: FlaskClient, caption: str = "", *, seed: int = 0) -> str:
    photo_id = uploaded(client, images.jpeg(640, 480, seed=seed), caption)
    finish_jobs(client)
    return photo_id


# Reading the pages


def stats(page: str) -> dict[str, int]:
    """The counts under a profile's name: {"photos": 2, "followers": 1, "following": 0}."""
    block = page.split('<ul class="stats">', 1)[1].split("</ul>", 1)[0]
    found = {
        word.rstrip("s") if word != "following" else word: n for n, word in STAT.findall(block)
    }
    return {
        "photos": int(found["photo"].replace(",", "")),
        "followers": int(found["follower"].replace(",", "")),
        "following": int(found["following"].replace(",", "")),
    }


def follow_button(page: str) -> str | None:
    """The profile's follow button as offered: "Follow", "Unfollow", or None."""
    found = re.search(
        r'<form method="post" action="/u/[^/"]+/(follow|unfollow)" class="follow-form">'
        r'.*?<button type="submit"[^>]*>([^<]*)</button>',
        page,
        re.S,
    )
    if found is None:
        return None
    assert found.group(2) == found.group(1).title()
    return found.group(2)


def feed_ids(page: str) -> list[str]:
    return POST.findall(page)


def card(page: str, photo_id: str) -> str:
    """One photo's card on the feed, or the photo page's line of likes and comments."""
    start = page.find(f'id="photo-{photo_id}"')
    if start >= 0:
        return page[start : page.index("</article>", start)]
    start = page.index('<div class="photo-social">')
    return page[start : page.index("</aside>", start)]


def like_state(page: str, photo_id: str) -> tuple[str | None, str]:
    """(the heart button on offer: "like", "unlike" or None when signed out, the count)."""
    block = card(page, photo_id)
    button = re.search(rf'action="/p/{photo_id}/(like|unlike)"', block)
    count = re.search(r'<span class="like-count">([^<]*)</span>', block)
    assert count is not None
    return (button.group(1) if button else None), count.group(1)


def comments_on(page: str) -> list[str]:
    return [html.unescape(text) for text in COMMENT_TEXT.findall(page)]


def more_link(page: str, label: str) -> str:
    found = re.search(rf'href="([^"]+)">{label}<', page)
    assert found is not None, f"no {label!r} link"
    return html.unescape(found.group(1))


def people_on(page: str) -> list[str]:
    main_part = page.split("<main", 1)[1]
    return re.findall(r'<a class="person" href="/u/([^"]+)"', main_part)


def forget_explore_ranking(client: FlaskClient) -> None:
    """Explore's ranking is cached for a minute; without Redis the cache is the process's,
    shared by every test, so drop what an earlier test left."""
    core: SiteCore = client.application.extensions[EXTENSION_KEY]
    core.bridge.call(core.runtime.cache.delete, RANKING_KEY)


# Following


def test_follow_and_unfollow_from_the_profile(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    ada = sign_up(site)
    bob = sign_up(other_browser)
    profile = f"/u/{ada['username']}"

    before = other_browser.get(profile).text
    assert follow_button(before) == "Follow"
    assert stats(before) == {"photos": 0, "followers": 0, "following": 0}

    assert follow(other_browser, ada["username"]) == profile
    after = other_browser.get(profile).text
    assert f"You are following @{ada['username']}." in after
    assert follow_button(after) == "Unfollow"
    assert stats(after)["followers"] == 1
    assert stats(other_browser.get(f"/u/{bob['username']}").text)["following"] == 1
    # Following again changes nothing.
    follow(other_browser, ada["username"])
    assert stats(other_browser.get(profile).text)["followers"] == 1

    assert unfollow(other_browser, ada["username"]) == profile
    undone = other_browser.get(profile).text
    assert f"You are no longer following @{ada['username']}." in undone
    assert follow_button(undone) == "Follow"
    assert stats(undone)["followers"] == 0
    assert stats(other_browser.get(f"/u/{bob['username']}").text)["following"] == 0
    following = other_browser.get(f"/u/{bob['username']}/following").text
    assert f"@{bob['username']} does not follow anyone yet." in following


def test_follow_returns_to_the_page_it_was_pressed_on(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    ada = sign_up(site)
    sign_up(other_browser)
    token = csrf_token(other_browser, "/people")

    for target, lands_on in [
        ("/people?cursor=abc", "/people?cursor=abc"),
        ("https://evil.example/", f"/u/{ada['username']}"),
        ("//evil.example/", f"/u/{ada['username']}"),
    ]:
        response = other_browser.post(
            f"/u/{ada['username']}/follow", data={"csrf_token": token, "next": target}
        )
        assert response.status_code == 303
        assert response.headers["Location"] == lands_on


def test_you_cannot_follow_yourself(site: FlaskClient) -> None:
    ada = sign_up(site)
    profile = site.get(f"/u/{ada['username']}").text
    assert follow_button(profile) is None
    assert "Edit profile" in profile

    response = submit(site, "/", {}, action=f"/u/{ada['username']}/follow")

    assert response.status_code == 422
    assert "You cannot follow yourself" in response.text
    assert "Traceback" not in response.text
    assert stats(site.get(f"/u/{ada['username']}").text)["followers"] == 0


def test_signed_out_visitors_get_a_link_to_log_in_instead_of_the_button(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    ada = sign_up(site)

    page = new_browser().get(f"/u/{ada['username']}").text

    assert follow_button(page) is None
    assert f'href="/login?next=/u/{ada["username"]}">Follow</a>' in page


def test_following_someone_who_does_not_exist_is_a_404(site: FlaskClient) -> None:
    sign_up(site)

    for action in ("follow", "unfollow"):
        response = submit(site, "/", {}, action=f"/u/nobody.here/{action}")
        assert response.status_code == 404
        assert "There is nothing here." in response.text


def test_followers_and_following_list_the_right_people(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    ada = sign_up(site)
    bob_browser, cy_browser = new_browser(), new_browser()
    bob = sign_up(bob_browser)
    cy = sign_up(cy_browser)
    follow(bob_browser, ada["username"])
    follow(cy_browser, ada["username"])
    follow(site, cy["username"])

    profile = site.get(f"/u/{ada['username']}").text
    assert f'href="/u/{ada["username"]}/followers"><strong>2</strong> followers</a>' in profile
    assert f'href="/u/{ada["username"]}/following"><strong>1</strong> following</a>' in profile

    followers = site.get(f"/u/{ada['username']}/followers")
    assert followers.status_code == 200
    assert people_on(followers.text) == [cy["username"], bob["username"]]  # newest first
    assert people_on(site.get(f"/u/{ada['username']}/following").text) == [cy["username"]]
    assert people_on(site.get(f"/u/{bob['username']}/following").text) == [ada["username"]]
    assert people_on(site.get(f"/u/{cy['username']}/followers").text) == [ada["username"]]

    nobody = site.get(f"/u/{bob['username']}/followers").text
    assert people_on(nobody) == []
    assert f"Nobody follows @{bob['username']} yet." in nobody
    assert f"@{ada['username']} does not follow" not in nobody
    for path in ("/u/nobody.here/followers", "/u/nobody.here/following"):
        assert site.get(path).status_code == 404


def test_the_follower_list_pages_with_more_people(
    site: FlaskClient, new_browser: Callable[[], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "DEFAULT_LIMIT", 2)
    ada = sign_up(site)
    fans = []
    for _ in range(3):
        browser = new_browser()
        fans.append(sign_up(browser)["username"])
        follow(browser, ada["username"])

    first = site.get(f"/u/{ada['username']}/followers").text
    second = site.get(more_link(first, "More people")).text

    assert people_on(first) == [fans[2], fans[1]]
    assert people_on(second) == [fans[0]]
    assert "More people" not in second
    assert site.get(f"/u/{ada['username']}/followers?cursor=nope").status_code == 404


# The home feed


def test_a_new_account_gets_an_empty_feed_pointing_to_explore_and_people(
    site: FlaskClient,
) -> None:
    sign_up(site)

    page = site.get("/").text

    assert "Your feed is empty" in page
    feed = page.split('<section class="feed"', 1)[1].split("</section>", 1)[0]
    assert 'href="/explore"' in feed
    assert 'href="/people"' in feed


def test_the_feed_shows_followed_accounts_photos_newest_first(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    ada_browser, stranger_browser = new_browser(), new_browser()
    ada = sign_up(ada_browser)
    sign_up(stranger_browser)
    sign_up(site)
    older = ready_photo(ada_browser, "Harbour at dawn", seed=1)
    strangers = ready_photo(stranger_browser, "Not for you", seed=2)

    follow(site, ada["username"])
    newer = ready_photo(ada_browser, "Harbour at dusk", seed=3)  # fanned out to followers
    own = ready_photo(site, "Mine", seed=4)

    page = site.get("/").text
    assert feed_ids(page) == [own, newer, older]
    assert strangers not in page
    first = card(page, newer)
    assert f'href="/u/{ada["username"]}"' in first
    assert ada["display_name"] in first
    assert "Harbour at dusk" in first
    assert f'src="/media/photos/{newer}/medium.webp"' in first
    assert re.search(r'width="640" height="480"', first)
    assert 'alt="Harbour at dusk"' in first
    assert re.search(
        r'class="post-image" href="[^"]+" style="background-color: #[0-9a-f]{6}"', first
    )
    assert f'href="/p/{newer}#comments"' in first
    assert "just now" in first
    assert "You're all caught up." in page


def test_unfollowing_takes_their_photos_out_of_the_feed(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    ada = sign_up(other_browser)
    sign_up(site)
    follow(site, ada["username"])
    photo_id = ready_photo(other_browser, seed=5)
    assert feed_ids(site.get("/").text) == [photo_id]

    unfollow(site, ada["username"])

    page = site.get("/").text
    assert feed_ids(page) == []
    assert "Your feed is empty" in page


def test_older_photos_page_through_the_feed(
    site: FlaskClient, other_browser: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main, "FEED_PAGE", 2)
    ada = sign_up(other_browser)
    sign_up(site)
    follow(site, ada["username"])
    ids = [uploaded(other_browser, images.jpeg(320, 240, seed=seed)) for seed in (6, 7, 8)]
    finish_jobs(site)

    first = site.get("/").text
    second = site.get(more_link(first, "Older photos")).text

    assert feed_ids(first) == [ids[2], ids[1]]
    assert feed_ids(second) == [ids[0]]
    assert "Older photos" not in second
    assert site.get("/?cursor=not-a-cursor").status_code == 404


# Likes


def test_like_and_unlike_from_the_feed(site: FlaskClient, other_browser: FlaskClient) -> None:
    ada = sign_up(other_browser)
    sign_up(site)
    follow(site, ada["username"])
    photo_id = ready_photo(other_browser)
    assert like_state(site.get("/").text, photo_id) == ("like", "0 likes")

    response = submit(site, "/", {"next": f"/#photo-{photo_id}"}, action=f"/p/{photo_id}/like")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/#photo-{photo_id}"
    feed = site.get("/").text
    assert like_state(feed, photo_id) == ("unlike", "1 like")
    assert 'class="icon-button like-button liked"' in card(feed, photo_id)
    # The owner sees the count, and a heart of their own to press.
    assert like_state(other_browser.get(f"/p/{photo_id}").text, photo_id) == ("like", "1 like")

    submit(site, "/", {"next": f"/#photo-{photo_id}"}, action=f"/p/{photo_id}/unlike")
    assert like_state(site.get("/").text, photo_id) == ("like", "0 likes")


def test_like_and_unlike_on_the_photo_page(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    sign_up(site)
    photo_id = ready_photo(site)
    fans = [new_browser() for _ in range(2)]
    page = f"/p/{photo_id}"

    for fan in fans:
        sign_up(fan)
        response = submit(fan, page, {"next": page}, action=f"{page}/like")
        assert response.status_code == 303
        assert response.headers["Location"] == page

    assert like_state(fans[0].get(page).text, photo_id) == ("unlike", "2 likes")
    assert like_state(site.get(page).text, photo_id) == ("like", "2 likes")
    assert like_state(new_browser().get(page).text, photo_id) == (None, "2 likes")

    submit(fans[0], page, {"next": page}, action=f"{page}/unlike")
    assert like_state(fans[0].get(page).text, photo_id) == ("like", "1 like")
    assert like_state(fans[1].get(page).text, photo_id) == ("unlike", "1 like")


def test_liking_a_photo_that_is_not_there_is_a_404(site: FlaskClient) -> None:
    sign_up(site)

    for path in ("/p/12345/like", "/p/12345/unlike", "/p/not-an-id/like"):
        response = submit(site, "/", {}, action=path)
        assert response.status_code == 404, path


# Comments


def test_comments_are_added_listed_oldest_first_and_counted(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    ada = sign_up(site)
    bob = sign_up(other_browser)
    photo_id = ready_photo(site)
    follow(other_browser, ada["username"])

    first = comment(other_browser, photo_id, "What a view!")
    second = comment(site, photo_id, "Thank you.\r\nIt was cold, though.")

    page = other_browser.get(f"/p/{photo_id}").text
    assert "Your comment is posted." in page
    assert 'id="comments"' in page
    assert COMMENT.findall(page) == [first, second]
    assert comments_on(page) == ["What a view!", "Thank you.\nIt was cold, though."]
    assert f'<a class="comment-author" href="/u/{bob["username"]}">{bob["display_name"]}</a>' in (
        page
    )
    assert 'maxlength="1000"' in page
    assert "2 comments" in card(page, photo_id)
    assert f'href="/p/{photo_id}#comments"><svg' in site.get("/").text
    assert "2 comments" in card(other_browser.get("/").text, photo_id)


def test_comment_authors_and_photo_owners_may_delete_comments(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    sign_up(site)
    photo_id = ready_photo(site)
    bob, stranger = new_browser(), new_browser()
    sign_up(bob)
    sign_up(stranger)
    by_bob = comment(bob, photo_id, "First!")
    by_bob_again = comment(bob, photo_id, "Second!")
    by_stranger = comment(stranger, photo_id, "Hello")

    # Each sees a delete button on what they may delete: the owner on every comment.
    assert DELETE_COMMENT.findall(site.get(f"/p/{photo_id}").text) == [
        by_bob,
        by_bob_again,
        by_stranger,
    ]
    assert DELETE_COMMENT.findall(bob.get(f"/p/{photo_id}").text) == [by_bob, by_bob_again]
    assert DELETE_COMMENT.findall(stranger.get(f"/p/{photo_id}").text) == [by_stranger]

    refused = submit(stranger, f"/p/{photo_id}", {}, action=f"/comments/{by_bob}/delete")
    assert refused.status_code == 403
    assert "Only the comment&#39;s author or the photo&#39;s owner may delete it." in refused.text

    page = f"/p/{photo_id}"
    response = submit(bob, page, {"next": f"{page}#comments"}, action=f"/comments/{by_bob}/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{page}#comments"
    assert delete_comment(site, photo_id, by_stranger) == 303

    after = site.get(page).text
    assert "The comment is deleted." in after
    assert comments_on(after) == ["Second!"]
    assert "1 comment<" in card(after, photo_id)
    assert delete_comment(bob, photo_id, by_bob) == 404
    assert delete_comment(bob, photo_id, "not-an-id") == 404


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write something before posting."),
        ("  \n\t ", "Write something before posting."),
        ("x" * 1001, "Comment should have at most 1000 characters."),
    ],
)
def test_empty_and_overlong_comments_are_refused_on_the_field(
    site: FlaskClient, text: str, message: str
) -> None:
    sign_up(site)
    photo_id = ready_photo(site)

    response = submit(site, f"/p/{photo_id}", {"text": text}, action=f"/p/{photo_id}/comments")

    assert response.status_code == 422
    assert f'<p class="error" id="text-error-1">{message}</p>' in response.text
    assert 'aria-invalid="true"' in response.text
    assert f'action="/p/{photo_id}/comments#comments"' in response.text
    assert comments_on(site.get(f"/p/{photo_id}").text) == []


def test_a_comment_of_1000_characters_with_line_breaks_fits(site: FlaskClient) -> None:
    """Browsers send line breaks as CRLF; the limit counts what the person typed."""
    sign_up(site)
    photo_id = ready_photo(site)
    typed = "a" * 499 + "\n" + "b" * 500

    comment(site, photo_id, typed.replace("\n", "\r\n"))

    assert comments_on(site.get(f"/p/{photo_id}").text) == [typed]


def test_more_comments_page_on(site: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "COMMENTS_PER_PAGE", 2)
    sign_up(site)
    photo_id = ready_photo(site)
    for text in ("one", "two", "three"):
        comment(site, photo_id, text)

    first = site.get(f"/p/{photo_id}").text
    second = site.get(more_link(first, "More comments")).text

    assert comments_on(first) == ["one", "two"]
    assert comments_on(second) == ["three"]
    assert "More comments" not in second
    assert "Back to the first comments" in second
    assert site.get(f"/p/{photo_id}?comments=nope").status_code == 404


def test_signed_out_visitors_read_comments_and_are_asked_to_log_in(
    site: FlaskClient, new_browser: Callable[[], FlaskClient]
) -> None:
    sign_up(site)
    photo_id = ready_photo(site)
    comment(site, photo_id, "Visible to all")

    page = new_browser().get(f"/p/{photo_id}").text

    assert comments_on(page) == ["Visible to all"]
    assert f'href="/login?next=/p/{photo_id}%23comments">Log in to like or comment</a>' in page
    assert 'class="comment-form"' not in page
    assert f'action="/p/{photo_id}/like"' not in page
    assert DELETE_COMMENT.findall(page) == []


def test_comments_and_names_are_shown_as_text_not_run(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    ada = sign_up(site)
    sign_up(other_browser, display_name=SCRIPT)
    photo_id = ready_photo(site, caption=SCRIPT)
    follow(other_browser, ada["username"])
    comment(other_browser, photo_id, f"{IMAGE_TAG}\n{SCRIPT}")

    for browser, path in [(site, f"/p/{photo_id}"), (other_browser, "/"), (site, "/")]:
        page = browser.get(path).text
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
    photo_page = site.get(f"/p/{photo_id}").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;\n&lt;script&gt;" in photo_page
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;</a>" in photo_page  # the author


# Explore


def test_explore_lists_recent_photos_for_everyone(
    site: FlaskClient, new_browser: Callable[[], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up(site)
    forget_explore_ranking(site)
    ids = [ready_photo(site, seed=seed) for seed in (9, 10)]
    forget_explore_ranking(site)
    monkeypatch.setattr(main, "EXPLORE_PAGE", 1)
    visitor = new_browser()

    first = visitor.get("/explore")
    assert first.status_code == 200
    assert 'href="/explore"' in first.text.split("<main", 1)[0]  # in the top bar
    second = visitor.get(more_link(first.text, "More photos")).text

    assert sorted(grid_links(first.text) + grid_links(second)) == sorted(ids)
    assert "More photos" not in second
    for photo_id in ids:
        assert f'<img src="/media/photos/{photo_id}/thumb.webp"' in first.text + second
    assert visitor.get("/explore?cursor=nope").status_code == 404


def test_explore_without_photos_says_so(site: FlaskClient) -> None:
    forget_explore_ranking(site)

    page = site.get("/explore").text

    assert "No photos from the past week yet." in page


# Forms that change something


def _post_forms(owner_browser: FlaskClient) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """A new account with a photo and a comment; every social form and what it posts."""
    owner = sign_up(owner_browser)
    photo_id = ready_photo(owner_browser)
    comment_id = comment(owner_browser, photo_id, "Kept")
    return owner, {
        f"/u/{owner['username']}/follow": {},
        f"/u/{owner['username']}/unfollow": {},
        f"/p/{photo_id}/like": {},
        f"/p/{photo_id}/unlike": {},
        f"/p/{photo_id}/comments": {"text": "Forged"},
        f"/comments/{comment_id}/delete": {},
    }


def test_every_social_form_refuses_a_post_without_its_token(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    sign_up(site)
    _, forms = _post_forms(other_browser)

    for path, data in forms.items():
        for token in (None, "forged"):
            sent = {**data, **({"csrf_token": token} if token else {})}
            response = site.post(path, data=sent)
            assert response.status_code == 400, path
            assert "Your form expired" in response.text, path

    photo_page = next(p for p in forms if p.endswith("/comments")).removesuffix("/comments")
    page = site.get(photo_page).text
    assert comments_on(page) == ["Kept"]
    assert like_state(page, photo_page.split("/")[-1]) == ("like", "0 likes")
    owner_profile = next(p for p in forms if p.endswith("/follow")).removesuffix("/follow")
    assert stats(site.get(owner_profile).text)["followers"] == 0


def test_signed_out_posts_go_to_log_in_and_back(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    """Say a session ended while a page was open: the press leads to log in, then back."""
    account, forms = _post_forms(other_browser)

    for path, data in forms.items():
        token = csrf_token(site, "/login")
        response = site.post(path, data={**data, "csrf_token": token, "next": "/explore"})
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/login?next=/explore", path

    like_path = next(p for p in forms if p.endswith("/like"))
    token = csrf_token(site, "/login")
    response = site.post(like_path, data={"csrf_token": token})
    photo_page = like_path.removesuffix("/like")
    assert response.headers["Location"] == f"/login?next={photo_page}"
    login_page = site.get(response.headers["Location"]).text
    assert "Log in to like photos." in login_page
    back = site.post(
        response.headers["Location"],
        data={
            "login": account["username"],
            "password": account["password"],
            "csrf_token": csrf_token(site, response.headers["Location"]),
        },
    )
    assert back.headers["Location"] == photo_page
    page = site.get(photo_page).text
    assert comments_on(page) == ["Kept"]  # nothing was done while signed out
    assert like_state(page, photo_page.split("/")[-1]) == ("like", "0 likes")


def test_logging_in_from_the_photo_page_comes_back_to_the_comments(
    site: FlaskClient, other_browser: FlaskClient
) -> None:
    account = sign_up(other_browser)
    photo_id = ready_photo(other_browser)
    log_in_link = f"/login?next=/p/{photo_id}%23comments"
    assert log_in_link in site.get(f"/p/{photo_id}").text

    token = csrf_token(site, log_in_link)
    response = site.post(
        log_in_link,
        data={"login": account["username"], "password": account["password"], "csrf_token": token},
    )

    assert response.headers["Location"] == f"/p/{photo_id}#comments"

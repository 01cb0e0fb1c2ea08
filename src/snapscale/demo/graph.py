"""The demo world, decided before anything is written: who exists, who follows whom, who
posts what and who reacts. Pure and deterministic: one seed, one world.

Each part draws from its own random stream, so changing how many photos there are
leaves the follow graph as it was.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import accumulate

from snapscale.demo import content

USERNAME_PREFIX = "demo_"
CELEBRITY_USERNAME = "demo_celebrity"
CELEBRITY = 0  # index of the celebrity in Plan.users; the others are demo_0001 onwards

# Follower counts follow a power law: everyone who picks accounts to follow picks the
# account of popularity rank r with weight 1 / r**ZIPF_EXPONENT.
ZIPF_EXPONENT = 1.0
# How many accounts each person follows: log-normal, a handful to dozens.
FOLLOWING_MEDIAN, FOLLOWING_SIGMA = 12, 0.8
FOLLOWING_MIN, FOLLOWING_MAX = 3, 80
CELEBRITY_FOLLOWS = 8
# The celebrity posts more than most, so its photos can carry most of the reactions.
CELEBRITY_PHOTOS_FACTOR, CELEBRITY_PHOTOS_MIN = 3, 3


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    bio: str


@dataclass(frozen=True)
class DemoPhoto:
    owner: int  # index into Plan.users
    caption: str
    image_seed: int


@dataclass(frozen=True)
class DemoComment:
    photo: int  # index into Plan.photos
    author: int
    text: str


@dataclass(frozen=True)
class Plan:
    users: list[DemoUser]
    follows: list[tuple[int, int]]  # (follower, followee)
    photos: list[DemoPhoto]  # in upload order
    likes: list[tuple[int, int]]  # (photo, user)
    comments: list[DemoComment]


def make_plan(*, users: int, photos_per_user: int, seed: int, celebrity_followers: int) -> Plan:
    if users < 2:
        raise ValueError("a demo needs at least 2 users")

    def stream(part: str) -> random.Random:
        return random.Random(f"{seed}:{part}")  # noqa: S311 (repeatable on purpose)  # nosec B311

    follows = _follows(stream("follows"), users, celebrity_followers)
    photos = _photos(stream("photos"), users, photos_per_user)
    likes, comments = _reactions(stream("reactions"), photos, _followers_of(users, follows))
    return Plan(_people(stream("people"), users), follows, photos, likes, comments)


def _people(rng: random.Random, count: int) -> list[DemoUser]:
    width = max(4, len(str(count - 1)))
    people = [DemoUser(CELEBRITY_USERNAME, content.CELEBRITY_NAME, content.CELEBRITY_BIO)]
    for number in range(1, count):
        name = f"{rng.choice(content.FIRST_NAMES)} {rng.choice(content.LAST_NAMES)}"
        bio = rng.choice(content.BIOS).format(place=rng.choice(content.PLACES))
        people.append(DemoUser(f"{USERNAME_PREFIX}{number:0{width}d}", name, bio))
    return people


def _follows(rng: random.Random, count: int, celebrity_followers: int) -> list[tuple[int, int]]:
    regulars = list(range(1, count))
    ranked = regulars[:]
    rng.shuffle(ranked)  # popularity is not tied to the username number
    weights = list(accumulate(1 / rank**ZIPF_EXPONENT for rank in range(1, len(ranked) + 1)))
    # In a small demo nobody follows more than half the others, or everyone would follow
    # everyone and the skew would vanish.
    most = min(FOLLOWING_MAX, max(1, (count - 2) // 2), count - 2)
    follows: list[tuple[int, int]] = []
    for follower in range(count):
        wanted = CELEBRITY_FOLLOWS if follower == CELEBRITY else _following_count(rng)
        chosen = _weighted_distinct(rng, ranked, weights, min(wanted, most), exclude=follower)
        follows.extend((follower, followee) for followee in chosen)
    fans = rng.sample(regulars, min(count - 1, celebrity_followers))
    follows.extend((fan, CELEBRITY) for fan in fans)
    return follows


def _following_count(rng: random.Random) -> int:
    drawn = round(rng.lognormvariate(math.log(FOLLOWING_MEDIAN), FOLLOWING_SIGMA))
    return max(FOLLOWING_MIN, min(FOLLOWING_MAX, drawn))


def _weighted_distinct(
    rng: random.Random, population: list[int], cum_weights: list[float], k: int, *, exclude: int
) -> list[int]:
    """k distinct members, drawn by weight (the caller keeps k below the population)."""
    chosen: dict[int, None] = {}  # a dict keeps the drawing order, so the result is stable
    while len(chosen) < k:
        for member in rng.choices(population, cum_weights=cum_weights, k=2 * (k - len(chosen))):
            if member != exclude and member not in chosen:
                chosen[member] = None
                if len(chosen) == k:
                    break
    return list(chosen)


def _followers_of(count: int, follows: list[tuple[int, int]]) -> list[list[int]]:
    followers: list[list[int]] = [[] for _ in range(count)]
    for follower, followee in follows:
        followers[followee].append(follower)
    return followers


def _photos(rng: random.Random, count: int, per_user: int) -> list[DemoPhoto]:
    total = count * per_user
    celebrity_share = min(total, max(CELEBRITY_PHOTOS_MIN, CELEBRITY_PHOTOS_FACTOR * per_user))
    # A few people post a lot, many post little or nothing.
    activity = [rng.lognormvariate(0, 1) for _ in range(1, count)]
    owners = [CELEBRITY] * celebrity_share
    owners += rng.choices(range(1, count), weights=activity, k=total - celebrity_share)
    rng.shuffle(owners)
    return [DemoPhoto(owner, rng.choice(content.CAPTIONS), rng.getrandbits(32)) for owner in owners]


def _reactions(
    rng: random.Random, photos: list[DemoPhoto], followers: list[list[int]]
) -> tuple[list[tuple[int, int]], list[DemoComment]]:
    """Followers like and comment on what they see; the celebrity's photos get the most."""
    likes: list[tuple[int, int]] = []
    comments: list[DemoComment] = []
    for index, photo in enumerate(photos):
        fans = followers[photo.owner]
        if not fans:
            continue
        if photo.owner == CELEBRITY:
            like_share = rng.uniform(0.3, 0.6)
            comment_count = round(len(fans) * rng.uniform(0.01, 0.03)) + rng.randint(1, 4)
        else:
            like_share = rng.uniform(0.05, 0.35)
            comment_count = rng.choice((0, 0, 0, 1, 1, 2, 3))
        likes.extend((index, fan) for fan in rng.sample(fans, round(like_share * len(fans))))
        comments.extend(
            DemoComment(index, author, rng.choice(content.COMMENTS))
            for author in rng.choices(fans, k=comment_count)
        )
    return likes, comments

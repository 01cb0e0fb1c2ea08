"""A realistic mixed session on the API, for locust (run by bench/run.py):

    locust -f bench/journey.py --headless --host http://127.0.0.1:PORT ...

Each simulated user logs in as one of the seeded accounts (user0..userN-1, one shared
password), then, step after step, reads the home feed, opens profiles and their
photos, likes, comments, follows, and now and then uploads a small photo. There is no
pause between steps: each user is a closed loop, like one wrk connection, so the
journey's requests per second is the server's capacity for this mix.
Every request must succeed: any answer but the expected 2xx counts as a failure. Each
user stops after BENCH_MAX_TASKS_PER_USER steps, and locust's --run-time bounds the time.
With BENCH_STEPS_PER_USER_SECOND set, each user takes at most that many steps a second
instead (a paced load, for soaks at a share of the peak).
"""

from __future__ import annotations

import os
import random
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from locust import constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser

from bench.payloads import multipart_upload, noisy_jpeg

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "")
MAX_TASKS = int(os.environ.get("BENCH_MAX_TASKS_PER_USER", "1000"))
STEPS_PER_SECOND = float(os.environ.get("BENCH_STEPS_PER_USER_SECOND", "0"))
SMALL_PHOTO = noisy_jpeg(640)
# Photo ids a user has seen lately: what they like and comment on next.
REMEMBERED_PHOTOS = 50


@events.init.add_listener  # type: ignore[untyped-decorator]
def _loopback_only(environment: Environment, **_: Any) -> None:
    if urlsplit(environment.host or "").hostname != "127.0.0.1":
        raise SystemExit(f"the journey sends load to 127.0.0.1 only, not {environment.host}")


class Member(FastHttpUser):
    wait_time = constant_throughput(STEPS_PER_SECOND) if STEPS_PER_SECOND > 0 else constant(0)

    def on_start(self) -> None:
        self.number = random.randrange(ACCOUNTS)
        self.tasks_done = 0
        self.seen: deque[str] = deque(maxlen=REMEMBERED_PHOTOS)
        response = self.client.post(
            "/api/v1/auth/token",
            data=f"username=user{self.number}&password={PASSWORD}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="/api/v1/auth/token",
        )
        if response.status_code != 200:
            raise StopUser
        self.auth = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def _step(self) -> None:
        self.tasks_done += 1
        if self.tasks_done > MAX_TASKS:
            raise StopUser

    def _someone_else(self) -> str:
        other = random.randrange(ACCOUNTS - 1)
        return f"user{other if other < self.number else other + 1}"

    def _remember(self, page: Any) -> None:
        self.seen.extend(item["id"] for item in page.get("items", []))

    def _a_photo(self) -> str:
        if not self.seen:
            self.open_photos()
        return random.choice(self.seen) if self.seen else ""

    @task(25)
    def read_feed(self) -> None:
        self._step()
        response = self.client.get("/api/v1/feed", headers=self.auth, name="/api/v1/feed")
        if response.status_code == 200:
            self._remember(response.json())

    @task(20)
    def open_profile(self) -> None:
        self._step()
        self.client.get(
            f"/api/v1/users/{self._someone_else()}",
            headers=self.auth,
            name="/api/v1/users/[username]",
        )

    @task(20)
    def open_photos(self) -> None:
        self._step()
        response = self.client.get(
            f"/api/v1/users/{self._someone_else()}/photos",
            headers=self.auth,
            name="/api/v1/users/[username]/photos",
        )
        if response.status_code != 200:
            return
        self._remember(response.json())
        if self.seen:
            self.client.get(
                f"/api/v1/photos/{random.choice(self.seen)}",
                headers=self.auth,
                name="/api/v1/photos/[id]",
            )

    @task(15)
    def like(self) -> None:
        self._step()
        photo = self._a_photo()
        if photo:
            self.client.put(
                f"/api/v1/photos/{photo}/like", headers=self.auth, name="/api/v1/photos/[id]/like"
            )

    @task(8)
    def comment(self) -> None:
        self._step()
        photo = self._a_photo()
        if photo:
            self.client.post(
                f"/api/v1/photos/{photo}/comments",
                json={"text": "Lovely light in this one."},
                headers=self.auth,
                name="/api/v1/photos/[id]/comments",
            )

    @task(10)
    def follow(self) -> None:
        self._step()
        self.client.put(
            f"/api/v1/users/{self._someone_else()}/follow",
            headers=self.auth,
            name="/api/v1/users/[username]/follow",
        )

    @task(2)
    def upload(self) -> None:
        self._step()
        content_type, body = multipart_upload(SMALL_PHOTO)
        self.client.post(
            "/api/v1/photos",
            data=body,  # type: ignore[arg-type]  # bytes are sent as they are
            headers={**self.auth, "Content-Type": content_type},
            name="/api/v1/photos (upload)",
        )

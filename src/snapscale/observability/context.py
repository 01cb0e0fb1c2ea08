"""What every log line of a request or a job is about: its request id, and the account.

The values live in context variables (structlog's, which the log formatter merges into
each line), so they follow a request through every ``await``, into the tasks it starts
(embedded mode's in-process jobs copy the context they were sent from) and across the
site's bridge onto the core's event loop (a coroutine handed over with
``run_coroutine_threadsafe`` starts in a copy of the caller's context). Celery jobs carry
the id in a message header instead, and the worker binds it again (see ``bind_job``).

Nothing here imports a web framework: the core reads ``current_request_id`` too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

import structlog

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from clients and proxies are echoed into headers and logs: only short, plain ones.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def sane_request_id(candidate: str | None) -> str | None:
    """``candidate`` if it is 1-128 characters of letters, digits and ``._:-``, else None."""
    if candidate is not None and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return None


def request_id_from(candidate: str | None) -> str:
    """The client's id when it is sane, otherwise a new one."""
    # 128 random bits as 32 hex digits, like a uuid4's hex, for a tenth of its cost.
    return sane_request_id(candidate) or os.urandom(16).hex()


@dataclass
class Activity:
    """The request or job being served. Mutable on purpose: the account is found deep in
    a dependency or a login loader, and the access line written by the outermost layer
    must see it even if that code ran in a copied context."""

    request_id: str | None
    user_id: str | None = None


_activity: ContextVar[Activity | None] = ContextVar("snapscale_activity", default=None)


class Binding:
    """Undoes one ``bind_*`` call: the context is left as it was before it."""

    def __init__(self, activity: Activity, **values: Any) -> None:
        self.activity = activity
        self._activity_token: Token[Activity | None] = _activity.set(activity)
        self._log_tokens = structlog.contextvars.bind_contextvars(**values)

    def undo(self) -> None:
        structlog.contextvars.reset_contextvars(**self._log_tokens)
        _activity.reset(self._activity_token)


def bind_request(request_id: str) -> Binding:
    # user_id is bound (to None) as well, so undoing also forgets an account bound later.
    return Binding(Activity(request_id), request_id=request_id, user_id=None)


@contextmanager
def request_scope(request_id: str) -> Iterator[Activity]:
    binding = bind_request(request_id)
    try:
        yield binding.activity
    finally:
        binding.undo()


def bind_job(job: str, *, request_id: str | None, job_id: str | None = None) -> Binding:
    """A job's log lines name the job and the request that caused it."""
    values: dict[str, Any] = {"job": job, "request_id": request_id}
    if job_id is not None:
        values["job_id"] = job_id
    return Binding(Activity(request_id), **values)


@contextmanager
def job_scope(job: str, *, request_id: str | None) -> Iterator[Activity]:
    binding = bind_job(job, request_id=request_id)
    try:
        yield binding.activity
    finally:
        binding.undo()


def bind_user(user_id: int) -> None:
    """The request is by this account: say so in its log lines and its access line."""
    activity = _activity.get()
    if activity is None:
        return  # not serving a request (a script, a test): nothing to attribute
    # As a string: 64-bit ids lose precision as JSON numbers in many log viewers.
    activity.user_id = str(user_id)
    structlog.contextvars.bind_contextvars(user_id=activity.user_id)


def current_request_id() -> str | None:
    activity = _activity.get()
    return activity.request_id if activity is not None else None

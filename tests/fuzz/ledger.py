"""What the fuzzer has learnt about who owns what, and the ownership check built on it.

Every response the fuzzer gets goes through `Ledger.learn`: photos (with their owner)
and comments (with their author and photo) seen in any body are remembered. The
ownership check judges each success against that knowledge: nobody but a photo's owner
may edit or delete it; nobody but a comment's author or the photo's owner may delete a
comment; an account's email, and a photo that is not ready or its private notes, are
shown to their owner only; and neither fuzzing account (no administrator) may succeed
on an administrators' operation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemathesis import Case, CheckContext, Response


@dataclass
class Ledger:
    tokens: dict[str, str]  # access token -> username
    photo_owners: dict[str, str] = field(default_factory=dict)
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (author, photo)

    def actor(self, response: Response) -> str | None:
        """The account that sent the request, or None when it was sent signed out."""
        header = str(response.request.headers.get("Authorization", ""))
        return self.tokens.get(header.removeprefix("Bearer "))

    def learn(self, case: Case, response: Response) -> None:
        if not 200 <= response.status_code < 300:
            return
        body = json_body(response)
        for item in objects(body):
            if _is_photo(item) and isinstance(item.get("id"), str):
                self.photo_owners[item["id"]] = str(item["owner"]["username"])
        photo_id = (case.path_parameters or {}).get("photo_id")
        if photo_id and case.operation.path.endswith("/photos/{photo_id}/comments"):
            for item in objects(body):
                if "author" in item and isinstance(item.get("id"), str):
                    self.comments[item["id"]] = (str(item["author"]["username"]), str(photo_id))

    def check_ownership(self, ctx: CheckContext, response: Response, case: Case) -> bool | None:
        """No success that only another account may have (see the module's docstring)."""
        actor = self.actor(response)
        # Judged with what was known before this response; learnt from afterwards.
        overreach = self._overreach(case, response, actor)
        self.learn(case, response)
        if overreach:
            raise AssertionError(f"{actor or 'a signed-out client'} {overreach}")
        return None

    def _overreach(self, case: Case, response: Response, actor: str | None) -> str | None:
        if not 200 <= response.status_code < 300:
            return None
        method, path = case.method.upper(), case.operation.path
        params = case.path_parameters or {}
        if "admin" in (case.operation.schema.get_tags(case.operation) or []):
            return f"is no administrator, yet {method} {path} answered {response.status_code}"
        if method in {"PATCH", "DELETE"} and path.endswith("/photos/{photo_id}"):
            photo_id = str(params.get("photo_id"))
            owner = self.photo_owners.get(photo_id)
            if owner != actor:
                return f"changed photo {photo_id} of {owner or 'an unknown owner'}"
        if method == "DELETE" and path.endswith("/comments/{comment_id}"):
            comment_id = str(params.get("comment_id"))
            author, photo_id = self.comments.get(comment_id, (None, ""))
            if actor is None or actor not in {author, self.photo_owners.get(photo_id)}:
                return f"deleted comment {comment_id} of {author or 'an unknown author'}"
        sent = _sent_text(response)
        for item in objects(json_body(response)):
            private = _owner_only(item)
            if private is None or private[0] == actor:
                continue
            if "email" in item and json.dumps(item["email"])[1:-1] in sent:
                continue  # the address the client itself just sent (a sign-up): no leak
            return f"was shown {private[1]} of account {private[0]} by {method} {path}"
        return None


def _is_photo(item: dict[str, Any]) -> bool:
    return "owner" in item and "status" in item


def _owner_only(item: dict[str, Any]) -> tuple[str, str] | None:
    """(owner, what) when this object holds something only its owner may see."""
    if "email" in item and "username" in item:
        return str(item["username"]), "the email"
    if _is_photo(item):
        owner = str(item["owner"].get("username"))
        if item["status"] != "ready":
            return owner, f"a {item['status']} photo"
        if item.get("failure_reason") or item.get("near_duplicate_of"):
            return owner, "a photo's private notes"
    return None


def _sent_text(response: Response) -> str:
    sent = response.request.body
    if isinstance(sent, bytes):
        return sent.decode(errors="replace")
    return sent if isinstance(sent, str) else ""


def json_body(response: Response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a document, nested ones included."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from objects(child)

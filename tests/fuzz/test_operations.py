"""Every operation, fuzzed by the other account (and by nobody) at the owner's things.

Each operation the schema lists gets generated requests, valid and broken, sent as
account B or signed out. B's valid ones are aimed at what only account A may change:
A's username, photo and comment on it fill the path. Every answer must be documented by
the schema, no answer may be a server error, every error is problem+json, and no success
may be one only A is entitled to. Afterwards A's account, photo, comment, like and follow
are exactly as they were, and A still signs in with its password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from snapscale.config import Settings
from tests.fuzz import harness
from tests.fuzz.checks import validate
from tests.fuzz.harness import API, FuzzTarget

pytestmark = pytest.mark.parametrize("stack", ["sqlite", "postgresql"], indirect=True)

EXAMPLES_PER_OPERATION = 16

# Operations not fuzzed here, each with the reason. Everything else the schema lists is.
EXCLUDED: dict[str, str] = {}


@pytest.fixture
def target(settings: Settings) -> Iterator[FuzzTarget]:
    yield from harness.start(settings)


def test_the_other_account_cannot_touch_the_owners_things(target: FuzzTarget) -> None:
    results = list(target.schema.get_all_operations())
    unusable = [str(result) for result in results if not isinstance(result, Ok)]
    assert not unusable, "operations schemathesis cannot generate for:\n" + "\n".join(unusable)
    operations = [result.ok() for result in results]
    assert set(EXCLUDED) <= {operation.label for operation in operations}, (
        "an exclusion names an operation that no longer exists"
    )
    before = owners_view(target)

    failures, aimed = [], set()
    fuzzed = [operation for operation in operations if operation.label not in EXCLUDED]
    for operation in fuzzed:
        try:
            fuzz_operation(target, operation, aimed)
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}:\n{error}")
    assert not failures, "\n\n".join(failures)
    assert owners_view(target) == before
    # The run proves something only if B really aimed at A's things everywhere it can.
    aimable = {operation.label for operation in fuzzed if takes_the_owners_things(operation)}
    assert aimed == aimable, f"B never aimed at A's things through {sorted(aimable - aimed)}"


def fuzz_operation(target: FuzzTarget, operation: Any, aimed: set[str]) -> None:
    cases = operation.as_strategy(generation_mode=GenerationMode.POSITIVE) | (
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    )

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=cases, actor=st.sampled_from(("b", None)))
    def run(case: Any, actor: str | None) -> None:
        if actor == "b" and harness.is_positive(case) and aim_at_the_owner(case, target):
            aimed.add(operation.label)
        harness.prepare(case, target.headers_for(actor))
        validate(case, case.call(), target.ledger)

    run()


def aim_at_the_owner(case: Any, target: FuzzTarget) -> bool:
    """Put A's things in the path; False when the path takes none of them."""
    owners = {
        "username": target.a.username,
        "photo_id": target.owners.photo_id,
        "comment_id": target.owners.comment_id,
    }
    names = [name for name in case.path_parameters or {} if name in owners]
    for name in names:
        case.path_parameters[name] = owners[name]
    return bool(names)


def takes_the_owners_things(operation: Any) -> bool:
    return any(f"{{{name}}}" in operation.path for name in ("username", "photo_id", "comment_id"))


def owners_view(target: FuzzTarget) -> dict[str, Any]:
    """What A sees of its own things, and whether its password still signs it in."""
    client, headers = target.client, target.a.headers
    photo_id, comment_id = target.owners.photo_id, target.owners.comment_id
    me = client.get(f"{API}/users/me", headers=headers)
    photo = client.get(f"{API}/photos/{photo_id}", headers=headers)
    comments = client.get(f"{API}/photos/{photo_id}/comments?limit=100", headers=headers)
    following = client.get(f"{API}/users/{target.a.username}/following?limit=100")
    signed_in = client.post(
        f"{API}/auth/token", data={"username": target.a.username, "password": harness.PASSWORD}
    )
    account = me.json()
    return {
        "statuses": [
            me.status_code,
            photo.status_code,
            comments.status_code,
            signed_in.status_code,
        ],
        "account": {key: account.get(key) for key in ("username", "email", "display_name", "bio")},
        "is_admin": account.get("is_admin"),
        "photo": {key: photo.json().get(key) for key in ("caption", "status", "liked_by_me")},
        "own comment": comment_id in [item["id"] for item in comments.json()["items"]],
        "follows": [item["username"] for item in following.json()["items"]],
    }

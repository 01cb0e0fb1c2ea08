"""The checks every fuzzed response goes through.

All of schemathesis' built-in checks (no server error; status code, content type,
headers and body as documented; valid input accepted and invalid input refused; a
created resource found, a deleted one gone; authentication not ignored...), three of
them narrowed where this API is right and the check cannot know it, plus ours: errors
are problem+json, and the ledger's ownership check.
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.fuzz.ledger import Ledger, json_body

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_MEMBERS = {"type", "title", "status", "detail"}

# Refusals of schema-valid input for rules no JSON Schema can state, by words in the
# `detail` of each field error (or of the problem, when it names no field): the cursor is
# opaque (only a `next_cursor` the API gave is one); a password or a one-time code may be
# well formed yet wrong, and a password on the common-password list; whether a name is
# yours depends on who asks; `format: email` allows domains such as `.test` that can
# never receive mail, which are refused; and the upload form takes at most 10 fields and
# one file, counting repeated parts, which JSON Schema cannot count.
UNSTATABLE_RULES = (
    "The upload form could not be read: Too many",
    "is not a cursor this API returned",
    "is not your current password",
    "is wrong, expired or already used",
    "is too common; choose one that is harder to guess",
    "password must not be the same as the username or email",
    "you cannot follow yourself",
    "is a special-use or reserved name that cannot be used with email",
)
FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def validate(case: Case, response: Response, ledger: Ledger, **kwargs: Any) -> None:
    """Raise schemathesis' FailureGroup naming every check the response fails."""

    def ownership(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        return ledger.check_ownership(ctx, response, case)

    case.validate_response(
        response,
        additional_checks=[
            ownership,
            problem_details,
            valid_input_is_accepted,
            invalid_input_is_refused,
            created_resource_is_available,
        ],
        excluded_checks=[
            positive_data_acceptance,
            negative_data_rejection,
            ensure_resource_availability,
        ],
        **kwargs,
    )


def problem_details(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error is an RFC 9457 problem document that names its own status."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith(PROBLEM_MEDIA_TYPE), (
        f"{response.status_code} answered with {content_type!r}, not {PROBLEM_MEDIA_TYPE}"
    )
    body = json_body(response)
    assert isinstance(body, dict), f"the {response.status_code}'s problem is not an object"
    missing = PROBLEM_MEMBERS - body.keys()
    assert not missing, f"the {response.status_code}'s problem lacks {sorted(missing)}"
    assert body["status"] == response.status_code, (
        f"the problem says {body['status']} on a {response.status_code} response"
    )
    return None


def valid_input_is_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """positive_data_acceptance, except for refusals by the rules above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        problem = json_body(response)
        if not isinstance(problem, dict):
            raise
        details = [error.get("detail") for error in problem.get("errors") or [problem]]
        if all(_unstatable(str(detail)) for detail in details):
            return None
        raise


def invalid_input_is_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """negative_data_rejection, except when the only breakage is a form field given
    another type: form fields are text on the wire (a number -4 is sent as the text "-4"),
    so that breakage never reaches the server."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta else ()
        in_form = (case.media_type or "").startswith(FORM_MEDIA_TYPES)
        if in_form and mutations and all(_retypes_a_body_field(m) for m in mutations):
            return None
        raise


def created_resource_is_available(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ensure_resource_availability, for calls by whoever made the resource: a photo
    still processing is, rightly, found by nobody but its owner."""
    parent = ctx.internals.find_parent(case_id=case.id)
    created = ctx.internals.find_response(case_id=parent.id) if parent else None
    if created is not None and _sender(created) != _sender(response):
        return None
    return ensure_resource_availability(ctx, response, case)


def _unstatable(detail: str) -> bool:
    return any(rule in detail for rule in UNSTATABLE_RULES)


def _retypes_a_body_field(mutation: Any) -> bool:
    return mutation.parameter_location == ParameterLocation.BODY and mutation.keywords == ("type",)


def _sender(response: Response) -> str:
    return str(response.request.headers.get("Authorization", ""))

"""Domain errors. Each carries the HTTP status and a stable slug; every entry point
translates them in one place (problem+json in the API, a flash message on the site)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    location: str = "body"  # or "query", "path": where the client put the value


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"
    # Most errors roll the unit of work back; one that records something on the way
    # (a revoked token family, say) asks the entry point to commit before answering.
    keeps_changes: bool = False

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class AuthenticationFailed(DomainError):
    status, slug, title = 401, "authentication-failed", "Authentication failed"


class PermissionDenied(DomainError):
    status, slug, title = 403, "permission-denied", "Permission denied"


class InvalidInput(DomainError):
    status, slug, title = 422, "invalid-input", "Invalid input"

    @classmethod
    def for_field(cls, field: str, message: str, *, location: str = "body") -> InvalidInput:
        return cls(f"{field}: {message}", errors=[FieldError(field, message, location)])


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unavailable(DomainError):
    status, slug, title = 503, "unavailable", "Service unavailable"

"""OpenAPI links the app does not declare, added to the schema the fuzzer reads.

Schemathesis infers links for ids on its own. Two more kinds are added here, derived
from the schema so that new operations get them too:
- usernames: every successful response that carries a `username` (an account, a
  profile, a photo's owner, a comment's author) links to every operation that takes one
  in its path, so the state machine follows, reads and aims at the accounts it has seen;
- pages: a page's `next_cursor` links to the same operation's `cursor`, with the same
  path, so the machine reads second pages (the only cursors the API accepts)."""

from __future__ import annotations

import copy
from typing import Any


def with_links(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    operations = [
        (path, operation)
        for path, item in raw["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    # Administrators' operations refuse both fuzzing accounts before reading the name:
    # links into them would only spend the machine's steps. They are still called (with
    # generated names) and must still refuse.
    takes_username = [
        op["operationId"]
        for path, op in operations
        if "{username}" in path and "admin" not in op.get("tags", [])
    ]
    for path, operation in operations:
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            body = _json_schema(response)
            links = {}
            # From single objects only (no `*` in the pointer): pages would add a link per
            # kind of item and drown the machine's other transitions in username ones.
            single = [
                pointer for pointer in _pointers_to(raw, body, "username") if "*" not in pointer
            ]
            for pointer in single[:1]:
                for target in takes_username:
                    links[f"username-to-{target}"] = _link(
                        target, {"path.username": f"$response.body#{pointer}"}
                    )
            if "/next_cursor" in _pointers_to(raw, body, "next_cursor"):
                same_path = {f"path.{name}": f"$request.path.{name}" for name in _path_names(path)}
                links["next-page"] = _link(
                    operation["operationId"],
                    {"query.cursor": "$response.body#/next_cursor", **same_path},
                )
            if links:
                response.setdefault("links", {}).update(links)
    return raw


def _link(target: str, parameters: dict[str, str]) -> dict[str, Any]:
    return {"operationId": target, "parameters": parameters}


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content", {}).get("application/json")
    return content.get("schema") if content else None


def _pointers_to(
    raw: dict[str, Any],
    schema: dict[str, Any] | None,
    name: str,
    prefix: str = "",
    depth: int = 0,
) -> list[str]:
    """JSON pointers (with `*` for array items) to every property `name` in the schema."""
    if schema is None or depth > 8:
        return []
    deeper = depth + 1
    if "$ref" in schema:
        component = raw["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return _pointers_to(raw, component, name, prefix, deeper)
    properties = schema.get("properties", {})
    found = [f"{prefix}/{name}"] if name in properties else []
    for key, child in properties.items():
        if key != name:
            found += _pointers_to(raw, child, name, f"{prefix}/{key}", deeper)
    if "items" in schema:
        found += _pointers_to(raw, schema["items"], name, f"{prefix}/*", deeper)
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        found += _pointers_to(raw, option, name, prefix, deeper)
    return found

"""Reading a page as a browser would, to tell whether text someone typed could run in it.

A page is inert when its only scripts are the site's own files, no element carries an
event handler, no link, form or image points at a ``javascript:`` URL, and none of the
elements that load or run other documents (frames, plug-ins, <base>) is present."""

from __future__ import annotations

from html.parser import HTMLParser

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "data", "poster", "xlink:href"}
FORBIDDEN_ELEMENTS = {"iframe", "frame", "object", "embed", "applet", "base", "style"}
# The only refresh the site sends: a photo page reloading itself while it is processed.
OWN_REFRESH = "3"


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def elements(page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser.elements


def _scheme_of(url: str) -> str:
    """What a browser would take for the URL's scheme: it ignores blanks and control
    characters anywhere in it (so "java\\tscript:" is still javascript:)."""
    squeezed = "".join(ch for ch in url if ch > " ").lower()
    return squeezed.partition(":")[0] if ":" in squeezed else ""


def live_markup(page: str) -> list[str]:
    """Everything in ``page`` that would run or load something it should not."""
    found: list[str] = []
    for tag, attrs in elements(page):
        if tag == "script" and not attrs.get("src", "").startswith("/static/"):
            found.append(f"<script {attrs}>: not one of the site's own script files")
        if tag in FORBIDDEN_ELEMENTS:
            found.append(f"<{tag} {attrs}>")
        refresh = tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh"
        if refresh and attrs.get("content") != OWN_REFRESH:
            found.append(f"<meta refresh {attrs}>")
        if tag == "img" and attrs.get("src") == "x":
            found.append(f"<img {attrs}>: an injected image")
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}={value!r}>: an event handler")
            if name in URL_ATTRIBUTES and _scheme_of(value) in {"javascript", "vbscript", "data"}:
                found.append(f"<{tag} {name}={value!r}>: a script URL")
    return found

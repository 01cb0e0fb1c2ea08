"""The docs pages work under their content security policy, in a real browser.

The CDN is out of reach in tests, so the browser is handed small stand-ins for the CDN's
files that do what the real ones need the policy to allow: run FastAPI's inline
bootstrap and fetch the schema (Swagger UI); inject a <style> element, start a worker
from a blob and fetch the schema (ReDoc). Any violation is reported by the page itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import chromium, server  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

SWAGGER_STAND_IN = """
window.SwaggerUIBundle = function (config) {
  fetch(config.url).then((r) => r.json()).then((schema) => {
    document.getElementById("swagger-ui").textContent = "Loaded " + schema.info.title;
  });
  return { initOAuth() {} };
};
SwaggerUIBundle.presets = { apis: {} };
SwaggerUIBundle.SwaggerUIStandalonePreset = {};
"""

REDOC_STAND_IN = """
const style = document.createElement("style");
style.textContent = "redoc { display: block; }";
document.head.appendChild(style);
const code = new Blob(["postMessage('indexed')"], { type: "text/javascript" });
new Worker(URL.createObjectURL(code)).onmessage = (e) => { document.body.dataset.worker = e.data; };
fetch(document.querySelector("redoc").getAttribute("spec-url"))
  .then((r) => r.json()).then((s) => { document.body.dataset.schema = s.info.title; });
"""

REPORT_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def open_docs(browser: Browser, url: str, script: str) -> Page:
    page = browser.new_page()
    page.add_init_script(REPORT_VIOLATIONS)

    def cdn(route: Route) -> None:
        if route.request.url.endswith(".js"):
            route.fulfill(body=script, content_type="text/javascript")
        else:
            route.fulfill(body="", content_type="text/css")

    page.route("https://cdn.jsdelivr.net/**", cdn)
    page.route("https://fonts.googleapis.com/**", lambda route: route.fulfill(body=""))
    page.route("https://fastapi.tiangolo.com/**", lambda route: route.fulfill(body=b""))
    page.goto(url)
    return page


def test_swagger_ui_runs_its_bootstrap_and_reads_the_schema(
    chromium: Browser,  # noqa: F811
    server: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = open_docs(chromium, f"{server}/docs", SWAGGER_STAND_IN)

    expect(page.locator("#swagger-ui")).to_have_text("Loaded Snapscale")
    assert page.evaluate("window.violations") == []


def test_redoc_styles_itself_starts_its_worker_and_reads_the_schema(
    chromium: Browser,  # noqa: F811
    server: str,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = open_docs(chromium, f"{server}/redoc", REDOC_STAND_IN)

    expect(page.locator("body")).to_have_attribute("data-worker", "indexed")
    expect(page.locator("body")).to_have_attribute("data-schema", "Snapscale")
    assert page.evaluate("window.violations") == []


def test_an_injected_inline_script_is_still_refused_on_the_docs_page(
    chromium: Browser,  # noqa: F811
    server: str,  # noqa: F811
) -> None:
    injected = (
        SWAGGER_STAND_IN
        + """
const intruder = document.createElement("script");
intruder.textContent = "document.body.dataset.owned = 'yes'";
document.head.appendChild(intruder);
"""
    )
    page = open_docs(chromium, f"{server}/docs", injected)

    page.wait_for_function("window.violations.length > 0")
    assert page.evaluate("document.body.dataset.owned") is None
    assert page.evaluate("window.violations")[0].startswith("script-src")

"""GraphiQL in a real browser: headless Chromium (Debian's) driven by Playwright, against the API
started as `vouch serve` on a free port. The page must load with nothing but this server (any
other host is aborted, and none may be asked for), run a query with the key typed into its
Headers tab, and show the auth error, not a crash, without one.

`make test` installs Debian's chromium when it can; without it (or without playwright) these
tests skip and say why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.chromium import playwright_or_skip

SCREENSHOT = Path("/tmp/graphiql.png")
TIMEOUT_MS = 30_000  # GraphiQL's bundle is 3.5 MB of unminified JavaScript to parse

sync_api = playwright_or_skip()


class GraphiQLPage:
    """The page in a fresh browser context that lets through only requests to the API."""

    def __init__(self, browser: Any, api_url: str, bypass_csp: bool = False) -> None:
        self.origin = urlsplit(api_url).netloc
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 800}, bypass_csp=bypass_csp
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        # Two nets: the page's Content-Security-Policy refuses other hosts in the browser (the
        # console says so), and anything that got past it to another host is aborted here.
        self.foreign: list[str] = []
        self.errors: list[str] = []  # uncaught exceptions and CSP refusals
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("console", self._console)
        response = self.page.goto(f"{api_url}/graphql")
        assert response is not None and response.status == 200, response and response.status
        try:
            self.page.wait_for_selector(".graphiql-execute-button")
        except sync_api.TimeoutError:
            pytest.fail(
                f"GraphiQL did not render; requests for other hosts: {self.foreign}, "
                f"errors: {self.errors}"
            )

    def _route(self, route: Any) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.origin:
            self.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.errors.append(f"console: {message.text}")

    def set_editor(self, selector: str, text: str) -> None:
        """Types `text` into a CodeMirror editor as a user pasting it would (replacing all),
        until the editor holds it: on a loaded machine the click may not have focused the
        editor yet when the keys arrive (then they went elsewhere, and the run sent no key)."""
        for _ in range(3):
            self.page.click(f"{selector} .CodeMirror-code")
            self.page.wait_for_function(
                "s => document.querySelector(s).CodeMirror.hasFocus()",
                arg=f"{selector} .CodeMirror",
            )
            self.page.keyboard.press("Control+A")
            if text:
                # a paste, not key presses: CodeMirror would auto-close brackets and quotes
                self.page.keyboard.insert_text(text)
            else:
                self.page.keyboard.press("Delete")
            if self.editor_value(selector) == text:
                return
        raise AssertionError(f"the editor {selector} would not take the text")

    def editor_value(self, selector: str) -> str:
        value: str = self.page.eval_on_selector(
            f"{selector} .CodeMirror", "element => element.CodeMirror.getValue()"
        )
        return value

    def run(self) -> dict[str, Any]:
        """Runs the query editor's operation and returns the result pane's JSON."""
        self.page.click(".graphiql-execute-button")
        self.page.wait_for_function(
            "() => document.querySelector('.graphiql-response .CodeMirror')"
            ".CodeMirror.getValue().trim().startsWith('{')"
        )
        result: dict[str, Any] = json.loads(self.editor_value(".graphiql-response"))
        return result

    def close(self) -> None:
        self.context.close()


HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
QUERY = """{
  viewer {
    role
    organization { name }
  }
  brands(first: 5) { totalCount }
}"""


@pytest.fixture
def graphiql(browser: Any, api_url: str) -> Iterator[GraphiQLPage]:
    page = GraphiQLPage(browser, api_url)
    try:
        yield page
    finally:
        page.close()


def test_a_query_with_the_key_in_the_headers_tab_shows_data(
    graphiql: GraphiQLPage, factory: Any
) -> None:
    org = factory.org("Browser")
    factory.brand(org, name="Glowly")
    key = factory.key(org, "FINANCE")
    # the page opened on the Headers tab, waiting for a key
    assert "Bearer " in graphiql.editor_value(HEADERS_EDITOR)
    graphiql.set_editor(".graphiql-query-editor", QUERY)
    graphiql.set_editor(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {key}"}, indent=2))
    result = graphiql.run()
    assert result == {
        "data": {
            "viewer": {"role": "FINANCE", "organization": {"name": org.name}},
            "brands": {"totalCount": 1},
        }
    }
    # the schema, fetched again with the key, fills the Docs explorer
    graphiql.page.click("[aria-label='Re-fetch GraphQL schema']")
    graphiql.page.click("[aria-label='Show Documentation Explorer']")
    graphiql.page.wait_for_selector(".graphiql-doc-explorer >> text=Query")
    graphiql.page.click(".graphiql-query-editor .CodeMirror-code")  # the result pane in view
    graphiql.page.screenshot(path=str(SCREENSHOT))
    assert graphiql.foreign == [], "the page asked for another host"
    assert graphiql.errors == []


@pytest.mark.parametrize("headers", ["", '{"Authorization": "Bearer vch_0000_nope"}'])
def test_a_query_without_a_valid_key_shows_the_auth_error(
    graphiql: GraphiQLPage, headers: str
) -> None:
    graphiql.set_editor(".graphiql-query-editor", QUERY)
    graphiql.set_editor(HEADERS_EDITOR, headers)
    assert graphiql.editor_value(HEADERS_EDITOR) == headers
    result = graphiql.run()
    [error] = result["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer <key>" in error["message"]
    assert "data" not in result
    # the page is still alive: the editors answer, nothing threw
    assert graphiql.editor_value(".graphiql-query-editor") == QUERY
    assert graphiql.foreign == [] and graphiql.errors == []


def test_a_foreign_request_would_be_caught(browser: Any, api_url: str) -> None:
    """The nets the other tests rely on: the CSP refuses a request for another host, and
    without the CSP the route sees it and aborts it."""
    fetch = "() => fetch('http://203.0.113.7/x').then(() => 'sent', () => 'failed')"
    for bypass_csp in (False, True):
        page = GraphiQLPage(browser, api_url, bypass_csp=bypass_csp)
        try:
            assert page.page.evaluate(fetch) == "failed"
            if bypass_csp:
                assert page.foreign == ["http://203.0.113.7/x"]
            else:
                page.page.wait_for_timeout(200)  # console messages arrive asynchronously
                assert page.foreign == []
                assert any("Refused to connect" in error for error in page.errors), page.errors
        finally:
            page.close()

"""Debian's chromium driven by Playwright; `make test` installs chromium when it is missing."""

import os

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling Google on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _async_unsafe_allowed(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls around it are safe.
    # Scoped by monkeypatch so the variable never leaks into other tests' subprocesses.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Every page of every browser test reports Content-Security-Policy violations, enforced or
# report-only alike: the event fires before the page's own scripts run, and console messages
# catch what happens before the listener exists (a refused <script> in <head>).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(
    `${event.disposition} ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber})`
  );
});
"""


class CspViolations(list):
    """What the pages reported; a test that provokes violations on purpose clears it."""

    def watch(self, context):
        context.expose_binding("__cspViolation", lambda source, text: self.append(text))
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self._watch_console)
        for page in context.pages:
            self._watch_console(page)
        return context

    def _watch_console(self, page):
        def on_console(message):
            if "Content Security Policy" in message.text:
                self.append(f"console: {message.text}")

        page.on("console", on_console)


@pytest.fixture
def csp_violations():
    return CspViolations()


@pytest.fixture
def browser(csp_violations):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (or `make test`, which does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        new_context = browser.new_context

        def watched_context(*args, **kwargs):
            return csp_violations.watch(new_context(*args, **kwargs))

        def watched_page(*args, **kwargs):
            # Browser.new_page makes a context of its own; give it the same watch.
            page = watched_context(*args, **kwargs).new_page()
            return page

        browser.new_context = watched_context
        browser.new_page = watched_page
        yield browser
        browser.close()
        # The ORM calls made while Playwright's loop ran opened a connection of their own, which
        # the test's teardown does not see: left open, it kept the test database from being
        # dropped at the end of the run ("being accessed by other users").
        connections.close_all()
    if csp_violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(csp_violations))


@pytest.fixture
def signed_in(browser, live_server):
    """Returns a function that opens a browser page signed in as `user`."""
    contexts = []

    def open_as(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context()
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()

"""What a user of the console reads, in a real browser (Debian's Chromium driven by Playwright)
against a real `ektp up`: refusals in the page's language, human words for the system's codes,
score bars on the matcher's scale, the public pages on a phone, confirmations that can be
dismissed, and a refused credential ending the session. Screenshots go to artifacts/console/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from console.i18n import MESSAGES
from tests.console.browser import Watcher, chromium_path, launch, login, shot, sync_playwright

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test.sh installs it)"),
]

ID, EN = MESSAGES["id"], MESSAGES["en"]
WAIT = 90_000  # ms: the machine is shared; never assert timings


def test_refusals_are_shown_in_the_pages_language(allinone, token):
    url, _ = allinone
    watcher = Watcher()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
            login(page, url, token)  # Indonesian, the default
            flash, note = page.locator("#flash.bad"), page.locator("#flash .flash-note")

            # "Data tidak sah / invalid input" and a field problem: the Indonesian half, and the field's
            # Indonesian message
            watcher.expect(422, "/v1/dedup/engine/pause")
            page.fill("#pause-reason", "   ")  # three blanks pass the form; the page sends the reason trimmed
            page.click("#pause")
            expect(flash).to_contain_text("Data tidak sah", timeout=WAIT)
            expect(flash).to_contain_text("reason: Terlalu pendek: minimal 3.")
            assert "invalid input" not in flash.inner_text()
            shot(page, "ui-error-bilingual-id")

            # an English-only message with a code the console has words for
            page.goto(f"{url}/console/print")
            watcher.expect(422, "/v1/print/sites/53.71.04/redirect")
            page.fill("#redirect-site", "53.71.04")
            page.fill("#redirect-to", "53.71.04")
            page.fill("#redirect-reason", "uji coba")
            page.click("#redirect-form button[type=submit]")
            expect(flash).to_contain_text(ID["error.redirect_to_self"], timeout=WAIT)
            assert "redirected to itself" not in flash.inner_text()
            expect(note).to_have_text("redirect_to_self · HTTP 422")  # the code stays, small, for operators
            assert "redirected to itself" in (flash.get_attribute("title") or "")  # and the API's words on hover

            # an English-only message with a code it has no words for: its words for the HTTP status
            page.goto(f"{url}/console/certificates")
            watcher.expect(404, "/v1/certificates")
            page.fill("#issue-enrollment", "00000000-0000-0000-0000-000000000000")
            page.click("#issue-form button[type=submit]")
            expect(flash).to_contain_text(ID["error.http.404"], timeout=WAIT)
            assert "certificate service" not in flash.inner_text()
            shot(page, "ui-error-english-only-id")

            # in English: the API's English, and the English half of a message in both
            page.goto(f"{url}/console/certificates?lang=en")
            page.fill("#issue-enrollment", "00000000-0000-0000-0000-000000000000")
            page.click("#issue-form button[type=submit]")
            expect(flash).to_contain_text("known to the certificate service", timeout=WAIT)
            page.goto(f"{url}/console/dashboard")
            page.fill("#pause-reason", "   ")
            page.click("#pause")
            expect(flash).to_contain_text("Invalid input", timeout=WAIT)
            expect(flash).to_contain_text("reason: Too short: at least 3.")
            assert "Data tidak sah" not in flash.inner_text()
            page.close()
            watcher.check()
        finally:
            browser.close()

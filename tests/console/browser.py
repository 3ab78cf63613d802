"""Playwright on Debian's Chromium (never `playwright install`), a watcher that fails a page on a
console error or a failed request it did not expect, and screenshots kept as artifacts."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
# Chromium logs every HTTP error answer to a fetch as a console error with this text.
RESOURCE_ERROR = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def launch(playwright) -> Browser:  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@dataclass
class Watcher:
    """Everything a page did wrong: console errors, uncaught exceptions, failed requests and HTTP
    error answers — except answers the test said to expect (`expect(404, "/v1/status/")`)."""

    problems: list[str] = field(default_factory=list)
    expected: list[tuple[int, str]] = field(default_factory=list)
    seen_expected: dict[int, int] = field(default_factory=dict)
    resource_errors: list[int] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        return page

    def expect(self, status: int, url_part: str) -> None:
        self.expected.append((status, url_part))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        match = RESOURCE_ERROR.search(message.text)
        if match:
            self.resource_errors.append(int(match.group(1)))  # judged with the responses, below
        else:
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Request) -> None:
        # A navigation aborts the page's polling requests in flight; that is not a failure.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status < 400:
            return
        for status, part in self.expected:
            if status == response.status and part in response.url:
                self.seen_expected[status] = self.seen_expected.get(status, 0) + 1
                return
        self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def check(self) -> None:
        # every "Failed to load resource" must belong to an expected answer
        budget = dict(self.seen_expected)
        for status in self.resource_errors:
            if budget.get(status, 0) > 0:
                budget[status] -= 1
            elif not any(f"HTTP {status}" in p for p in self.problems):
                self.problems.append(f"console: resource error {status} without a matching expected answer")
        assert not self.problems, "the pages had problems:\n" + "\n".join(self.problems)


def until(check, *, timeout: float = 60, interval: float = 0.3, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Polls `check` (blocking) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout}s; last: {last!r}")


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Page, url: str, token: str, *, shot_name: str | None = None) -> None:
    """Logs in on the login page as an operator does; the admin lands on the dashboard."""
    page.goto(f"{url}/console/login")
    if shot_name:
        shot(page, shot_name)
    page.fill("#login-token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/console/dashboard")
    expect(page.locator("#who")).to_contain_text("admin")


def post(client: httpx.Client, rec: dict) -> dict:
    """Records a resident as a station does; the enrollment as the API answers it."""
    response = client.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
    assert response.status_code == 201, response.text
    return response.json()


def issue_certificate(client: httpx.Client, enrollment_id: str) -> dict:
    """A certificate for a recording, as the dinas issues it; the certificate service learns the
    recording from its event, maybe a moment after the enrollment service answered (404 until then)."""
    response = until(lambda: (r := client.post("/v1/certificates", json={"enrollment_id": enrollment_id})).status_code
                     != 404 and r, what=f"the certificate service knows recording {enrollment_id}")
    assert response.status_code == 201, response.text
    return response.json()


def status_of(client: httpx.Client, receipt: str) -> str:
    return client.get(f"/v1/status/{receipt}").json()["status"]


__all__ = ["Watcher", "chromium_path", "issue_certificate", "launch", "login", "post", "shot", "status_of", "until",
           "sync_playwright", "SHOTS"]

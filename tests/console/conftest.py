"""The frame of every browser test: a Chromium for the test, and an admin's HTTP client of the
running all-in-one to set the scene and check what the pages did; both closed whatever happens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from tests.console.browser import launch, sync_playwright
from tests.support.api import auth


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def api(allinone: tuple[str, object], token: str) -> Iterator[httpx.Client]:
    url, _ = allinone
    with httpx.Client(base_url=url, headers=auth(token), timeout=30) as client:
        yield client

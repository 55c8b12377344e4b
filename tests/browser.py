"""Headless Chromium for the report pages, through Playwright (the Debian ``chromium`` binary:
``.ci/run`` installs it; Playwright's own browser download is not needed).

``browser`` is a session fixture (tests/conftest.py); ``open_report(browser, path)`` gives a page
that has loaded the report and collected every console message and script error, so a test can
assert the page rendered cleanly as well as what it shows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

VIEWPORT = {"width": 1400, "height": 900}  # "above the fold": inside this first screen


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    return found


@contextmanager
def launched() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-gpu"], timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_report(browser: Any, page_file: Path, fragment: str = "") -> Iterator[Any]:
    """A page showing ``page_file`` (``fragment``: e.g. ``status=failed``); ``page.problems`` lists
    console messages and script errors seen while it was open."""
    context = browser.new_context(viewport=VIEWPORT, offline=True)  # the page must need no network
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    page.problems = problems
    url = page_file.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    page.goto(url, timeout=60_000)
    try:
        yield page
    finally:
        context.close()


def above_the_fold(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["height"] > 0 and box["y"] + box["height"] <= VIEWPORT["height"]

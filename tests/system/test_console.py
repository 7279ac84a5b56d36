"""The console page in a real headless chromium (Debian's), driven by Playwright: a new alarm
appears without a reload, and the operator acknowledges it from the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from edge.serial.payloads import AckStage, KeyKind
from tests.system.conftest import OPERATOR_PASSWORD, Centre, Home

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def console_page(browser: Browser, centre: Centre) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(centre.url)
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    yield page
    context.close()


def test_wrong_password_is_refused(browser: Browser, centre: Centre) -> None:
    page = browser.new_page()
    page.goto(centre.url)
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    expect(page.locator("#queue")).to_be_hidden()
    page.close()


def test_new_alarm_appears_live_and_is_acknowledged_from_the_page(
    console_page: Page, home: Home
) -> None:
    page = console_page
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url))

    press = home.button.press(KeyKind.EMERGENCY)

    row = page.locator(f"tr[data-status='open']:has(td:text-is('{home.button_id}'))")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text("Emergency call")
    expect(row).to_contain_text(f"home-{home.gateway_id.rsplit('-', 1)[1]}")
    assert reloads == []  # it arrived over the live stream, not by reloading the page

    row.get_by_role("button", name="Acknowledge").click()

    done = page.locator(f"tr[data-status='acknowledged']:has(td:text-is('{home.button_id}'))")
    expect(done).to_contain_text("acknowledged by operator", timeout=10_000)
    assert home.button.wait_for_stage(press, AckStage.HELP_COMING, 20)

"""The dispatch console in a real headless chromium (Debian's), driven by Playwright, against a
real server, gateway and simulated devices: an alarm from a press to resolved, with the
responder's page in between; a fall's acceleration plot; the console in Chinese; a server
restart. Screenshots of each main screen go to var/screenshots/ for review."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from firmware_sim.bed_signal import synthesize
from firmware_sim.serial_device import BedSensor, Pendant
from playwright.sync_api import Browser, Page, expect, sync_playwright

from edge.serial.payloads import AckStage, KeyKind
from onebox.broker import Broker
from onebox.console_client import ConsoleClient
from onebox.stack import Accounts
from protocol import AlarmKind, Channel, EventBody, EventMessage, encode
from tests.factories import alarm_message
from tests.system.conftest import OPERATOR_PASSWORD, Centre, Home, SerialHome
from tests.system.console_pages import (
    CHROMIUM,
    CHROMIUM_ARGS,
    COUNT_BEEPS,
    CareRecords,
    account,
    configure_gateway,
    english_on_page,
    screenshot,
    seed_care,
)
from tests.system.test_alarm_loop import _GatewayClient
from tests.system.test_fall_loop import WINDOW_S, fall_and_prompt

# One store is enough for the page (the live relay across processes has its own tests), and
# chromium is slow on two cores.
pytestmark = [pytest.mark.system, pytest.mark.parametrize("centre", ["sqlite"], indirect=True)]
SEEN_S = 20.0  # the deadline for a press to be on screen; the measured delay is printed


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def signed_in(browser: Browser, centre: Centre, username: str, password: str) -> Iterator[Page]:
    """The console in a fresh browser context, logged in and live; no script error on it."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-GB")
    context.add_init_script(COUNT_BEEPS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(centre.url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#alarms")).to_have_attribute("data-syncs", re.compile(r"[1-9]"))
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def console_page(browser: Browser, centre: Centre) -> Iterator[Page]:
    """Signed in as the centre's first account (an admin)."""
    with signed_in(browser, centre, "operator", OPERATOR_PASSWORD) as page:
        yield page


def test_wrong_password_is_refused(browser: Browser, centre: Centre) -> None:
    page = browser.new_page()
    page.goto(centre.url)
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    expect(page.locator("#workspace")).to_be_hidden()
    page.close()


def test_press_to_resolved_from_the_keyboard_with_the_responder_page(
    console_page: Page, browser: Browser, centre: Centre, home: Home
) -> None:
    page = console_page
    care = seed_care(centre.console, home.gateway_id)
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url))

    pressed = time.monotonic()
    press = home.button.press(KeyKind.EMERGENCY)
    row = page.locator(f"#alarms tr:has(td:text-is('{home.button_id}'))")
    expect(row).to_have_count(1, timeout=SEEN_S * 1000)
    print(f"press on screen after {time.monotonic() - pressed:.3f} s")
    alarm_id = row.get_attribute("data-alarm-id")
    expect(row).to_contain_text("Emergency call")
    expect(row).to_contain_text(care.home_id)
    page.wait_for_function("window.__cues.sound >= 1 && window.__cues.visual >= 1")
    page.wait_for_function("window.__beeps >= 1")  # the tones really went to WebAudio
    assert reloads == []  # it came over the live stream, not by reloading the page
    screenshot(page, "01-queue-new-alarm")

    row.locator("td.kind").click()  # select and open
    page.keyboard.press("a")
    expect(row).to_have_attribute("data-status", "acknowledged")
    expect(row).to_contain_text("Acknowledged by operator")
    assert home.button.wait_for_stage(press, AckStage.HELP_COMING, 20)

    detail = page.locator("#detail")
    _check_detail(page, care)
    screenshot(page, "02-alarm-detail")

    page.keyboard.press("d")  # the top suggestion: the near care worker
    expect(page.locator("#assigned")).to_contain_text("赵护理员")
    expect(row).to_have_attribute("data-state", "dispatched")

    responder = _responder_page(browser, centre, care, alarm_id or "")
    responder.get_by_role("button", name="Accept").click()
    expect(page.locator("#detail-state")).to_have_attribute("data-state", "accepted")
    responder.get_by_role("button", name="En route").click()
    expect(page.locator("#detail-state")).to_have_attribute("data-state", "en_route")
    expect(row).to_have_attribute("data-state", "en_route")
    expect(page.locator("#assigned")).to_contain_text("En route")
    screenshot(page, "03-responder-en-route")
    responder.get_by_role("button", name="On scene").click()
    expect(page.locator("#detail-state")).to_have_attribute("data-state", "on_scene")
    screenshot(responder, "04-responder-page")
    responder.context.close()

    page.locator("#note-text").fill("已电话联系儿子李明")
    page.get_by_role("button", name="Add note").click()
    expect(detail.locator(".history")).to_contain_text("已电话联系儿子李明")
    page.locator("#outcome").select_option("real_emergency")
    page.locator("#resolve-note").fill("老人摔倒 已送医")
    page.locator("#resolve").click()
    expect(page.locator("#detail-state")).to_have_attribute("data-state", "resolved")
    expect(row).to_have_attribute("data-state", "resolved")
    history = detail.locator(".history li")
    expect(history.first).to_contain_text("Raised")
    for step in ("Acknowledged", "Dispatched", "Accepted", "En route", "On scene", "Resolved"):
        expect(detail.locator(".history")).to_contain_text(step)
    screenshot(page, "05-resolved")
    _supervisor_sees_the_deliveries(browser, centre, care, alarm_id or "")


def _supervisor_sees_the_deliveries(
    browser: Browser, centre: Centre, care: CareRecords, alarm_id: str
) -> None:
    """The dispatch notified the care worker on their MQTT topic: a supervisor reads the
    attempt beside the history, in either language."""
    with signed_in(browser, centre, *account(centre.console, "supervisor")) as page:
        page.locator(f"#alarms tr[data-alarm-id='{alarm_id}'] td.kind").click()
        sent = page.locator("#deliveries table.deliveries tbody tr[data-channel='mqtt']")
        expect(sent).to_have_count(1)
        expect(sent).to_have_attribute("data-outcome", "delivered")
        expect(sent).to_contain_text("赵护理员")
        expect(sent).to_contain_text("MQTT")
        expect(sent).to_contain_text("Sent")
        expect(sent).to_contain_text("notice 1, try 1")
        screenshot(page, "13-deliveries-supervisor")
        page.locator("#language").select_option("zh-CN")
        expect(sent).to_contain_text("已发出")
        assert english_on_page(page, data={"operator"}) == []  # who acted, in the history
        screenshot(page, "14-deliveries-zh")


def _check_detail(page: Page, care: CareRecords) -> None:
    resident = page.locator("[data-card='resident']")
    expect(resident).to_contain_text("王秀英")
    expect(resident).to_contain_text("Living alone")
    expect(resident).to_contain_text("Level 2")
    expect(resident.locator(".contacts li")).to_have_count(2)
    expect(resident.locator(".contacts li").first).to_contain_text("李明")  # calling order
    home = page.locator("[data-card='home']")
    expect(home).to_contain_text("人民路")
    expect(home.locator(f"svg g.home.focus[data-home-id='{care.home_id}']")).to_have_count(1)
    expect(home.locator("svg .scale-bar text")).to_have_text(re.compile(r"\d+ k?m"))
    top = page.locator("table.suggestions tbody tr").first
    expect(top).to_have_attribute("data-responder-id", str(care.near))
    expect(top.locator("td.eta")).to_have_text(re.compile(r"\d+ min"))
    expect(page.locator("[data-card='health']")).to_contain_text("Online")
    expect(page.locator("[data-card='history']")).to_contain_text("Acknowledged")
    # No gateway set up by the centre here: nothing to keep an away period in.
    expect(resident.locator("#away")).to_have_attribute("data-away", "no")
    expect(resident.locator("#away-no-gateway")).to_be_visible()


def _responder_page(browser: Browser, centre: Centre, care: CareRecords, alarm_id: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{centre.url}/responder/#alarm={alarm_id}")
    page.get_by_placeholder("Username").fill(care.responder_username)
    page.get_by_placeholder("Password").fill(care.responder_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(f"[data-alarm='{alarm_id}']")).to_be_visible()
    return page


@pytest.fixture
def pendant(
    serial_home: Callable[..., tuple[SerialHome, Pendant]], centre: Centre
) -> tuple[SerialHome, Pendant]:
    home, device = serial_home(Pendant, "pendant", fall_cancel_window_s=WINDOW_S)
    seed_care(centre.console, home.gateway_id)
    return home, device


def test_fall_plot_and_every_screen_in_chinese(
    console_page: Page, pendant: tuple[SerialHome, Pendant]
) -> None:
    page = console_page
    home, device = pendant
    fall_and_prompt(device)
    row = page.locator(f"#alarms tr:has(td:text-is('{home.device_id}'))")
    expect(row).to_have_count(1, timeout=(SEEN_S + WINDOW_S) * 1000)
    expect(row).to_contain_text("Fall")
    row.locator("td.kind").click()
    plot = page.locator("#trace-plot .uplot")
    expect(plot).to_be_visible()
    assert int(plot.get_attribute("data-points") or 0) > 100
    expect(page.locator("#trace-plot canvas")).to_have_count(1)
    screenshot(page, "06-fall-plot")

    page.locator("#language").select_option("zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(row).to_contain_text("跌倒")
    expect(page.locator("[data-card='evidence'] h4").first).to_have_text("撞击前后的加速度")
    expect(page.locator("#trace-plot .uplot")).to_be_visible()
    assert english_on_page(page) == []
    screenshot(page, "07-fall-plot-zh")

    for tab, ready in (
        ("map", "#map svg g.home"),
        ("responders", "#responders-table tbody tr"),
        ("devices", "#devices-board table"),
        ("orders", "#orders-board > *"),
        ("reports", "#reports-board > *"),
    ):
        page.locator(f"[data-tab='{tab}']").click()
        expect(page.locator(ready).first).to_be_visible()
        assert english_on_page(page) == [], tab
        screenshot(page, f"08-{tab}-zh")
    page.locator("#language").select_option("en")
    page.locator("[data-tab='map']").click()
    expect(page.locator("#map svg .scale-bar text")).to_have_text(re.compile(r"\d+ k?m"))
    screenshot(page, "09-map-en")
    # The base layer: the area around the homes (their convex hull), inner points left out.
    hull = page.evaluate(
        "async () => (await import('/js/map.js')).serviceArea([[0,0],[100,0],[0,100],[20,20]], 0)"
    )
    assert sorted(map(tuple, hull)) == [(0, 0), (0, 100), (100, 0)]


def test_vital_signs_alarm_shows_the_breathing_trend(
    console_page: Page, centre: Centre, serial_home: Callable[..., tuple[SerialHome, BedSensor]]
) -> None:
    home, bed = serial_home(BedSensor, "bed")
    seed_care(centre.console, home.gateway_id)
    _, pressure, _ = synthesize(240, seed=7, apnoea_spans=[(120, 40)])
    bed.stream(pressure.tolist(), 100)
    row = console_page.locator(f"#alarms tr:has(td:text-is('{home.device_id}'))")
    expect(row).to_have_count(1, timeout=40_000)
    expect(row).to_contain_text("Vital signs")
    row.locator("td.kind").click()
    evidence = console_page.locator("[data-card='evidence']")
    expect(evidence).to_contain_text("Breathing pause")
    # The telemetry store writes in batches: the open detail re-reads the trend until it shows.
    expect(evidence.locator("#trend-plot .uplot")).to_be_visible(timeout=40_000)
    screenshot(console_page, "11-vital-signs-trend")


def test_console_resynchronises_after_a_server_restart(
    console_page: Page, centre: Centre, home: Home
) -> None:
    page = console_page
    seed_care(centre.console, home.gateway_id)
    home.button.press(KeyKind.EMERGENCY)
    first = page.locator(f"#alarms tr:has(td:text-is('{home.button_id}'))")
    expect(first).to_have_count(1, timeout=SEEN_S * 1000)
    syncs = int(page.locator("#alarms").get_attribute("data-syncs") or 0)

    centre.process.stop()
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live")
    home.button.press(KeyKind.EMERGENCY)  # waits in the gateway's outbox
    centre.process.start()

    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=30_000)
    expect(page.locator("#alarms")).not_to_have_attribute("data-syncs", str(syncs))
    rows = page.locator(f"#alarms tr:has(td:text-is('{home.button_id}'))")
    expect(rows).to_have_count(2, timeout=SEEN_S * 1000)
    ids = rows.evaluate_all("rows => rows.map((r) => r.dataset.alarmId)")
    assert len(set(ids)) == 2  # nothing doubled
    # The keyboard walks the queue in its order: j down, k up.
    order = page.locator("#alarms tr").evaluate_all("rows => rows.map((r) => r.dataset.alarmId)")
    page.locator("#alarms tr").first.locator("td.kind").click()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page.locator("#alarms tr.selected")).to_have_attribute("data-alarm-id", order[1])
    page.keyboard.press("ArrowUp")
    expect(page.locator("#alarms tr.selected")).to_have_attribute("data-alarm-id", order[0])
    expect(page.locator("#detail")).to_be_hidden()
    centre.console.acknowledge(ids[-1])  # and the stream is live again
    expect(page.locator(f"#alarms tr[data-alarm-id='{ids[-1]}']")).to_have_attribute(
        "data-status", "acknowledged"
    )
    screenshot(page, "10-after-restart")


def test_inactivity_alarm_shows_the_last_24_hours_of_activity(
    console_page: Page, centre: Centre, broker: Broker, accounts: Accounts
) -> None:
    gateway_id = "gw-quiet-home"
    gateway = _GatewayClient(broker, accounts, gateway_id)
    now = datetime.now(UTC)
    try:
        # A morning in the kitchen and the hall, out of bed at 07:00; then nothing.
        for hours_ago, device, room, sensor, value in [
            (9.0, "bed-1", "bedroom", "bed", 1),
            (7.0, "bed-1", "bedroom", "bed", 0),
            (6.5, "kitchen-pir", "kitchen", "motion", 1),
            (6.0, "hall-pir", "hall", "motion", 1),
            (5.2, "kitchen-pir", "kitchen", "motion", 1),
        ]:
            event = EventMessage(
                gateway_id=gateway_id,
                device_id=device,
                gateway_time=now - timedelta(hours=hours_ago),
                body=EventBody(
                    kind="activity", detail={"sensor": sensor, "value": value, "room": room}
                ),
            )
            gateway.publish(Channel.EVENT, encode(event))
        call = alarm_message(gateway_id, home_id="home-quiet")
        alarm = call.model_copy(
            update={"body": call.body.model_copy(update={"kind": AlarmKind.INACTIVITY})}
        )
        gateway.publish(Channel.ALARM, encode(alarm))
        row = console_page.locator(f"#alarms tr[data-alarm-id='{alarm.id}']")
        expect(row).to_have_count(1, timeout=20_000)
        row.locator("td.kind").click()
        timeline = console_page.locator("[data-card='evidence'] svg.timeline")
        expect(timeline).to_have_attribute("data-events", "5")
        expect(timeline).to_have_attribute("data-rows", "3")
        expect(timeline.locator("rect.mark")).to_have_count(3)
        expect(timeline.locator("rect.bar")).to_have_count(1)  # in bed from 9 h to 7 h ago
        screenshot(console_page, "12-inactivity-activity-timeline")
        # The operator phones emergency services and logs the call: it joins the history.
        console_page.select_option("#call-outcome", "reached")
        console_page.click("#log-call")
        history = console_page.locator("[data-card='history']")
        expect(history).to_contain_text("Call: Emergency services (120) — reached")
    finally:
        gateway.close()


def test_operator_marks_the_resident_away_and_back(
    browser: Browser, centre: Centre, broker: Broker, accounts: Accounts
) -> None:
    """The resident phones: "at my daughter's until the day after tomorrow", later "I'm
    back". The resident card and the top of the detail show it; an operator is not shown the
    delivery records (403 to the role)."""
    gateway_id = f"gw-away-{secrets.token_hex(2)}"
    care = seed_care(centre.console, gateway_id)
    configure_gateway(centre.console, gateway_id, care.home_id)
    gateway = _GatewayClient(broker, accounts, gateway_id)
    try:
        with signed_in(browser, centre, *account(centre.console, "operator")) as page:
            call = alarm_message(gateway_id, home_id=care.home_id)
            gateway.publish(Channel.ALARM, encode(call))
            row = page.locator(f"#alarms tr[data-alarm-id='{call.id}']")
            expect(row).to_have_count(1, timeout=SEEN_S * 1000)
            row.locator("td.kind").click()
            _away_now_and_back(page, centre, care)
    finally:
        gateway.close()


def _away_now_and_back(page: Page, centre: Centre, care: CareRecords) -> None:
    away = page.locator("#away")
    expect(away).to_have_attribute("data-away", "no")
    expect(page.locator("#away-flag")).to_have_count(0)
    expect(page.locator("[data-card='history'] .history li").first).to_be_visible()
    expect(page.locator("#deliveries")).to_have_count(0)

    until = datetime.now() + timedelta(days=2)  # the browser's zone is the test's
    page.locator("#away-until").fill(until.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#away-note").fill("住女儿家")
    page.locator("#away-set").click()
    expect(away).to_have_attribute("data-away", "now")
    expect(away).to_contain_text("住女儿家")
    expect(page.locator("#away-flag")).to_contain_text("Resident away until")
    away_now = centre.console.get(f"/api/residents/{care.resident_id}/away")["away_now"]
    expected_end = until.replace(second=0, microsecond=0).astimezone()  # as an instant
    assert datetime.fromisoformat(away_now["end"]) == expected_end
    assert away_now["note"] == "住女儿家"
    screenshot(page, "15-resident-away")
    page.locator("#language").select_option("zh-CN")
    expect(page.locator("#away-flag")).to_contain_text("老人外出中")
    assert english_on_page(page) == []
    screenshot(page, "16-resident-away-zh")
    page.locator("#language").select_option("en")

    page.locator("#away-back").click()
    expect(away).to_have_attribute("data-away", "no")
    expect(page.locator("#away-flag")).to_have_count(0)
    expect(page.locator("#away-back")).to_have_count(0)
    assert centre.console.get(f"/api/residents/{care.resident_id}/away")["away_now"] is None


def test_a_family_members_away_change_is_shown_to_the_operator(
    browser: Browser, centre: Centre
) -> None:
    """A family account marks the resident away from its own app: no inactivity alarm comes
    from the home meanwhile, so the operator's console shows who did it until dismissed; a
    stretch longer than the family's limit is refused and shows nothing."""
    gateway_id = f"gw-family-{secrets.token_hex(2)}"
    care = seed_care(centre.console, gateway_id)
    configure_gateway(centre.console, gateway_id, care.home_id)
    username, password = f"family-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    body = {
        "username": username,
        "password": password,
        "role": "family",
        "resident_id": care.resident_id,
    }
    centre.console.http.post("/api/users", json=body).raise_for_status()
    family = ConsoleClient(centre.url, username, password)
    away = f"/api/residents/{care.resident_id}/away/now"
    with signed_in(browser, centre, *account(centre.console, "operator")) as page:
        too_long = {"until": (datetime.now(UTC) + timedelta(days=30)).isoformat()}
        assert family.http.post(away, json=too_long).status_code == 403
        until = {"until": (datetime.now(UTC) + timedelta(days=3)).isoformat()}
        family.http.post(away, json=until).raise_for_status()
        notice = page.locator("#family-away li")
        expect(notice).to_have_count(1, timeout=SEEN_S * 1000)
        expect(notice).to_contain_text(username)
        expect(notice).to_contain_text("away now, until")
        screenshot(page, "17-family-away-notice")
        notice.get_by_role("button", name="Dismiss").click()
        expect(page.locator("#family-away")).to_be_hidden()

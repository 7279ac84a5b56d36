"""Helpers for the console's browser tests: Debian's chromium, the care records an operator
works with (an organisation, a home on a gateway, its resident, responders with accounts),
screenshots, and the check that a page in Chinese shows no English string."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from onebox.console_client import ConsoleClient

REPO = Path(__file__).resolve().parents[2]
CATALOGUES = REPO / "server" / "console" / "static" / "i18n"
SCREENSHOTS = REPO / "var" / "screenshots"  # git-ignored: artifacts for review
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
# Counts every tone the page starts through WebAudio: the sound cue really played.
COUNT_BEEPS = """
window.__beeps = 0;
const start = AudioScheduledSourceNode.prototype.start;
AudioScheduledSourceNode.prototype.start = function (...args) {
  window.__beeps += 1;
  return start.apply(this, args);
};
"""
HOME_POSITION = (31.2304, 121.4737)  # Shanghai
_numbers = itertools.count(1)


def catalogue(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass(frozen=True)
class CareRecords:
    organisation_id: int
    home_id: str
    resident_id: int
    near: int  # a care worker 600 m away, with first-aid skills: the best suggestion
    far: int  # a volunteer 3 km away
    responder_username: str
    responder_password: str


def seed_care(console: ConsoleClient, gateway_id: str) -> CareRecords:
    """A community whose alarms wait for the operator (no automatic escalation), one home on
    ``gateway_id`` with its resident, and two responders; the near one has an account."""
    n = next(_numbers)
    http = console.http

    def post(path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        response = http.request(method, path, json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    org = post("/api/organisations", {"name": f"幸福社区 {n}", "level": "community"})
    post(f"/api/organisations/{org['id']}/dispatch-settings", {"auto_dispatch_kinds": []}, "PUT")
    home_id = f"flat-{n}-{secrets.token_hex(2)}"
    lat, lon = HOME_POSITION
    post(
        "/api/homes",
        {
            "id": home_id,
            "organisation_id": org["id"],
            "address": f"人民路 {n} 号 3 单元 502 室",
            "latitude": lat,
            "longitude": lon,
            "gateway_ids": [gateway_id],
        },
    )
    resident = post(
        "/api/residents",
        {
            "home_id": home_id,
            "name": "王秀英",
            "priority_groups": ["living_alone", "advanced_age"],
            "assessment_level": 2,
            "conditions": ["高血压", "糖尿病"],
            "contacts": [
                {"name": "李明", "relation": "儿子", "phone": "13800000001"},
                {"name": "张华", "relation": "邻居", "phone": "13800000002"},
            ],
            "consent": True,
        },
    )

    def responder(name: str, kind: str, metres_north: float, skills: list[str]) -> int:
        body = {
            "name": name,
            "kind": kind,
            "organisation_id": org["id"],
            "skills": skills,
            "latitude": lat + metres_north / 111_195.0,
            "longitude": lon,
        }
        return int(post("/api/responders", body)["id"])

    near = responder(f"赵护理员{n}", "care_worker", 600, ["first_aid", "lifting"])
    far = responder(f"钱志愿者{n}", "volunteer", 3000, [])
    username, password = f"responder-{n}-{secrets.token_hex(2)}", secrets.token_urlsafe(12)
    post(
        "/api/users",
        {"username": username, "password": password, "role": "responder", "responder_id": near},
    )
    return CareRecords(org["id"], home_id, int(resident["id"]), near, far, username, password)


def configure_gateway(console: ConsoleClient, gateway_id: str, home_id: str) -> None:
    """Register ``gateway_id`` for the home and enter its (empty) configuration, as an
    installer does: the centre keeps a home's away periods in its gateways' setup."""
    body = {"gateway_id": gateway_id, "home_id": home_id}
    console.http.post("/api/gateways", json=body).raise_for_status()
    console.http.put(f"/api/gateways/{gateway_id}/config", json={}).raise_for_status()


def account(console: ConsoleClient, role: str) -> tuple[str, str]:
    """A new console account with ``role`` (``operator``, ``supervisor`` ...): its username
    and password. The centre's first account, which the tests call "operator", is an admin."""
    username, password = (
        f"{role}-{next(_numbers)}-{secrets.token_hex(2)}",
        secrets.token_urlsafe(12),
    )
    body = {"username": username, "password": password, "role": role}
    console.http.post("/api/users", json=body).raise_for_status()
    return username, password


# Every visible text (and placeholder) of the page that is an English catalogue string, whole
# or as the fixed part of a template ("{n} open").
FIND_ENGLISH = r"""
(english) => {
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const exact = new Set(english.filter((v) => !v.includes("{")));
  const templates = english.filter((v) => v.includes("{"))
    .map((v) => new RegExp("^" + v.split(/\{\w+\}/).map(escape).join(".+") + "$"));
  const phrases = english.filter((v) => !v.includes("{") && v.includes(" "));
  const found = [];
  const check = (text) => {
    if (exact.has(text) || templates.some((r) => r.test(text))) found.push(text);
    else for (const p of phrases) if (text.includes(p)) found.push(`${text} (contains "${p}")`);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest("title, script, style, option:not(:checked)")) continue;
    if (!parent.checkVisibility()) continue;
    check(text);
  }
  for (const input of document.querySelectorAll("[placeholder]")) {
    if (input.checkVisibility() && input.placeholder) check(input.placeholder.trim());
  }
  return found;
}
"""


def english_on_page(page: Page, data: Collection[str] = ()) -> list[str]:
    """``data``: texts from the records shown that happen to equal a catalogue string (the
    centre's first account is named "operator", like the English name of the role)."""
    found: list[str] = page.evaluate(FIND_ENGLISH, list(catalogue("en").values()))
    return [text for text in found if text not in data]

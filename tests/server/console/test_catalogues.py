"""The console's message catalogues: English and Chinese have the same keys with the same
placeholders, every key the page names exists, and every word the server can send in a
vocabulary the console shows (alarm kinds, states, outcomes, groups ...) has a label."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from edge.devices import REGISTRY
from gateway.detect.inactivity import SilenceContext
from gateway.detect.vitals import AlarmKind as VitalsAlarmKind
from protocol import AlarmKind
from server.api.care_schemas import PriorityGroup, ResponderKind, ResponderStatus
from server.api.dispatch_schemas import Outcome, Service, ServiceOrderState
from server.api.notify_schemas import Adapter
from server.api.user_schemas import Role
from server.crud.lifecycle import STATES
from server.db.notify_models import DELIVERY_OUTCOMES

STATIC = Path(__file__).resolve().parents[3] / "server" / "console" / "static"
LANGUAGES = ("en", "zh-CN")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Keys written out in the page: t("..."), data-i18n*="...", and the table headers in code.
KEY_IN_SOURCE = re.compile(
    r"""\bt\("([a-z_]+\.[a-z_0-9]+)"|data-i18n(?:-\w+)?="([a-z_]+\.[a-z_0-9]+)"|"((?:dispatch|board|health|evidence)\.[a-z_]+)\""""
)


def load(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return loaded


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, zh = load("en"), load("zh-CN")
    assert set(en) == set(zh)
    for key, text in en.items():
        assert text.strip(), key
        assert zh[key].strip(), key
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(zh[key])), key
        assert zh[key] != text, f"{key} is not translated"


def test_every_key_the_page_names_exists() -> None:
    named: set[str] = set()
    for source in [STATIC / "index.html", *sorted((STATIC / "js").glob("*.js"))]:
        for match in KEY_IN_SOURCE.finditer(source.read_text("utf-8")):
            named.add(next(g for g in match.groups() if g))
    assert named, "the scan found no keys"
    missing = named - set(load("en"))
    assert not missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_word_of_the_vocabularies_has_a_label(lang: str) -> None:
    vocabularies: dict[str, set[str]] = {
        "kind": {k.value for k in AlarmKind},
        "state": set(STATES),
        "history": set(STATES) | {"note", "renotified", "declined", "operator_alerted"},
        "outcome": set(get_args(Outcome)),
        "group": set(get_args(PriorityGroup)),
        "responder_kind": set(get_args(ResponderKind)),
        "responder_status": set(get_args(ResponderStatus)),
        "service": set(get_args(Service)),
        "order_state": set(get_args(ServiceOrderState)),
        "role": set(get_args(Role)),
        "device_kind": {kind.name for kind in REGISTRY},
        "detail_condition": set(get_args(VitalsAlarmKind)),
        "detail_context": {c.value for c in SilenceContext},
        # A delivery's channel: "mqtt" or "webhook:<adapter>" (server/notify/webhook.py).
        "channel": {"mqtt"} | {f"webhook:{a}" for a in get_args(Adapter)},
        "delivery_outcome": set(DELIVERY_OUTCOMES),
    }
    catalogue = load(lang)
    missing = [
        f"{group}.{word}"
        for group, words in vocabularies.items()
        for word in sorted(words)
        if f"{group}.{word}" not in catalogue
    ]
    assert missing == []

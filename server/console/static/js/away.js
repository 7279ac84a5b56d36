// A resident's away periods: whether the home is empty now (until when, and why), the periods
// planned, and the operator's two quick actions for when the resident phones ("I'm at my
// daughter's until Sunday", "I'm back"). While away, the home's gateway raises no inactivity,
// night or check-in alarm, so an operator reading an alarm must see it at once. Planned
// periods are edited through the API (PUT /api/residents/{id}/away), not here.

import { el } from "./dom.js";
import { dateTime, t } from "./i18n.js";

const DEFAULT_AWAY_MS = 24 * 3600 * 1000;  // the form starts at "until this time tomorrow"

// The one line for the top of the detail: null when the resident is not away now.
export function awayFlag(away) {
  if (!away?.away_now) return null;
  return el("p", { class: "away-flag", id: "away-flag" }, t("away.flag", { until: dateTime(away.away_now.end) }));
}

// ``actions``: { canSet, draft: {until, note}, onAway(untilIso, note), onBack() }; the draft
// keeps what the operator typed across the re-renders a live event causes.
export function awayBlock(away, actions) {
  if (!away) return null;  // not read yet, or not readable
  const current = away.away_now;
  const planned = away.periods.filter((p) => !current || p.start !== current.start);
  return el("div", { class: "away", id: "away", dataset: { away: current ? "now" : "no" } },
    current
      ? el("p", { class: "away-now" }, t("away.now_until", { until: dateTime(current.end) }),
        current.note ? el("q", {}, current.note) : null)
      : el("p", { class: "muted" }, t("away.not_away")),
    el("h4", {}, t("away.planned")),
    planned.length
      ? el("ul", { class: "away-planned" }, planned.map((p) => el("li", {},
        t("away.period", { start: dateTime(p.start), end: dateTime(p.end) }), p.note ? el("q", {}, p.note) : null)))
      : el("p", { class: "muted" }, t("common.none")),
    actions.canSet ? awayActions(away, current, actions) : null);
}

// The centre keeps the periods in the home's configured gateways, which act on them: a home
// without one cannot be marked away (the API answers 409).
function awayActions(away, current, actions) {
  if (!away.gateway_ids.length) return el("p", { class: "muted", id: "away-no-gateway" }, t("away.no_gateway"));
  return awayForm(current, actions);
}

function awayForm(current, { draft, onAway, onBack }) {
  const until = el("input", { type: "datetime-local", id: "away-until", "aria-label": t("away.until") });
  until.value = draft.until || localInput(new Date(Date.now() + DEFAULT_AWAY_MS));
  const note = el("input", { id: "away-note", maxlength: 80, "aria-label": t("away.note"), placeholder: t("away.note") });
  note.value = draft.note ?? "";
  until.addEventListener("input", () => { draft.until = until.value; });
  note.addEventListener("input", () => { draft.note = note.value; });
  const form = el("form", { class: "away-form" }, el("span", {}, t("away.until")), until, note,
    el("button", { type: "submit", id: "away-set" }, t("action.away_now")),
    current ? el("button", { type: "button", id: "away-back", on: { click: () => onBack() } }, t("action.back_now")) : null);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const end = new Date(until.value);  // the operator's local time, sent as an instant
    if (Number.isNaN(end.getTime())) return;
    onAway(end.toISOString(), note.value.trim());
  });
  return form;
}

// "2026-11-23T18:05" in the browser's zone, as a datetime-local input takes it.
function localInput(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

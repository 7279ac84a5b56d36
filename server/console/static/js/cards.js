// The parts of an alarm's detail: who the resident is, where, what the devices saw, how the
// home's equipment is, and everything done so far. Pure rendering from fetched records.

import { accelerationPlot, trendChart } from "./charts.js";
import { activityTimeline } from "./timeline.js";
import { el } from "./dom.js";
import { dateTime, label, language, t, time } from "./i18n.js";

export const TREND_BEFORE_S = 2 * 3600;  // vital signs: two hours before the alarm
export const TREND_AFTER_S = 600;  // and ten minutes after it

function section(key, ...children) {
  return el("section", { class: "card", dataset: { card: key } }, el("h3", {}, t(`detail.${key}`)), ...children);
}

function facts(rows) {
  return el("dl", { class: "facts" }, rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

// ``away``: the resident's away periods and quick actions (js/away.js), or null.
export function residentCard(resident, missing, away = null) {
  if (!resident) return section("resident", el("p", { class: "muted" }, t(missing ? "detail.no_resident" : "common.loading")));
  const groups = (resident.priority_groups || []).map((g) => el("span", { class: "tag" }, label("group", g)));
  const contacts = el("ol", { class: "contacts" }, (resident.contacts || []).map((c) =>
    el("li", {}, el("strong", {}, c.name), c.relation ? ` (${c.relation}) ` : " ",
      el("a", { href: `tel:${c.phone}` }, c.phone))));
  return section("resident",
    el("p", { class: "resident-name" }, resident.name),
    away,
    facts([
      [t("resident.groups"), groups.length ? el("span", {}, groups) : t("common.none")],
      [t("resident.level"), resident.assessment_level === null ? t("common.unknown") : t("resident.level_n", { n: resident.assessment_level })],
      [t("resident.conditions"), (resident.conditions || []).join(", ") || t("common.none")],
    ]),
    el("h4", {}, t("resident.contacts")),
    (resident.contacts || []).length ? contacts : el("p", { class: "muted" }, t("common.none")));
}

export function homeCard(home, missing, mapNode) {
  if (!home) return section("home", el("p", { class: "muted" }, t(missing ? "detail.no_home" : "common.loading")));
  return section("home",
    facts([
      [t("home.address"), home.address],
      [t("home.position"), `${home.latitude.toFixed(5)}, ${home.longitude.toFixed(5)}`],
      [t("home.area"), label("area", home.area)],
    ]),
    mapNode);
}

// ``trend``: the vital-signs telemetry around the alarm, [{label, points}], or null.
export function evidenceCard(alarm, trend = null, activity = null) {
  const parts = [];
  if (activity) {
    parts.push(el("h4", {}, t("evidence.activity_24h")),
      activity.length ? activityTimeline(activity, alarm.received_at) : el("p", { class: "muted" }, t("evidence.no_activity")));
  }
  if (trend && trend.some((line) => line.points.length)) {
    const chart = el("div", { class: "plot", id: "trend-plot" });
    parts.push(el("h4", {}, t("evidence.trend")), chart);
    const at = Date.parse(alarm.received_at) / 1000;
    requestAnimationFrame(() => trendChart(chart, trend, language(), [at - TREND_BEFORE_S, at + TREND_AFTER_S]));
  }
  if (alarm.trace && alarm.trace.t_s && alarm.trace.t_s.length) {
    const plot = el("div", { class: "plot", id: "trace-plot" });
    parts.push(el("h4", {}, t("evidence.trace")), plot);
    // uPlot measures its container: draw once the card is in the page.
    requestAnimationFrame(() => accelerationPlot(plot, alarm.trace));
  }
  const detail = Object.entries(alarm.detail || {});
  // Values of known vocabularies are words to translate; the rest (times, numbers) stay as sent.
  const value = (k, v) => (k === "condition" || k === "context" ? label(`detail_${k}`, v) : String(v));
  if (detail.length) parts.push(facts(detail.map(([k, v]) => [label("detail_key", k), value(k, v)])));
  const origin = alarm.origin || {};
  parts.push(facts([
    [t("evidence.device"), alarm.device_id ?? t("common.none")],
    [t("evidence.device_kind"), origin.device_kind ? label("device_kind", origin.device_kind) : null],
    [t("evidence.transport"), origin.transport ? label("transport", origin.transport) : null],
    [t("evidence.device_time"), dateTime(alarm.device_time)],
    [t("evidence.received"), dateTime(alarm.received_at)],
  ]));
  if (!parts.length) parts.push(el("p", { class: "muted" }, t("evidence.none")));
  return section("evidence", ...parts);
}

export function healthCard(alarm, gateway, events) {
  const mine = events.filter((e) => e.gateway_id === alarm.gateway_id && e.kind !== "activity").slice(0, 8);
  return section("health",
    facts([
      [t("health.gateway"), alarm.gateway_id],
      [t("health.gateway_state"), gateway ? label("gateway_state", gateway.state) : t("common.unknown")],
      [t("health.last_seen"), gateway ? dateTime(gateway.last_seen_at) : null],
    ]),
    el("h4", {}, t("health.recent_events")),
    mine.length
      ? el("ul", { class: "events" }, mine.map((e) => el("li", {}, `${time(e.gateway_time)} · ${e.device_id ?? alarm.gateway_id} · ${label("event", e.kind)}`)))
      : el("p", { class: "muted" }, t("common.none")));
}

// ``deliveries``: the alarm's notification attempts, or null when the user may not read them.
export function historyCard(history, responderName, deliveries = null) {
  return section("history", history.length
    ? el("ol", { class: "history" }, history.map((h) => el("li", { dataset: { action: h.action } },
      el("span", { class: "when" }, time(h.at)), " ",
      el("strong", {}, label("history", h.action)), " · ",
      el("span", {}, actorName(h.actor)),
      h.responder_id ? ` → ${responderName(h.responder_id)}` : "",
      h.detail?.outcome ? ` · ${label("outcome", h.detail.outcome)}` : "",
      h.note ? el("q", {}, h.note) : "")))
    : el("p", { class: "muted" }, t("common.none")),
  deliveries === null ? null : deliveryTable(deliveries, responderName));
}

// Each attempt to reach a responder, oldest first: whether the notice left the centre, and if
// not, what the channel answered (a supervisor's first question when nobody accepted).
function deliveryTable(deliveries, responderName) {
  const rows = deliveries.map((d) => el("tr", { dataset: { outcome: d.outcome, channel: d.channel } },
    el("td", {}, time(d.at)),
    el("td", { title: d.target }, label("channel", d.channel)),
    el("td", {}, d.responder_id === null ? "–" : responderName(d.responder_id)),
    el("td", {}, t("delivery.attempt_n", { notice: d.ladder_attempt, n: d.attempt })),
    el("td", { class: `outcome ${d.outcome}` }, label("delivery_outcome", d.outcome)),
    el("td", {}, [d.status_code, d.error].filter((x) => x !== null && x !== "").join(" · ") || "–")));
  return el("div", { id: "deliveries" },
    el("h4", {}, t("delivery.title")),
    rows.length
      ? el("table", { class: "deliveries" },
        el("thead", {}, el("tr", {},
          el("th", {}, t("delivery.at")), el("th", {}, t("delivery.channel")), el("th", {}, t("delivery.responder")),
          el("th", {}, t("delivery.attempt")), el("th", {}, t("delivery.outcome")), el("th", {}, t("delivery.answer")))),
        el("tbody", {}, rows))
      : el("p", { class: "muted" }, t("delivery.none")));
}

// "gateway:gw-1" and "engine" are the system's own actors; users appear by name.
function actorName(actor) {
  if (actor.startsWith("gateway:")) return t("actor.gateway", { id: actor.slice(8) });
  if (actor === "engine") return t("actor.engine");
  return actor;
}

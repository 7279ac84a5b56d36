// Boards beside the queue: responders, homes and their devices, service orders, reports.
// Read on demand (when the board is shown) and re-read on the live stream's changes.

import { api, ApiError } from "./api.js";
import { barChart } from "./charts.js";
import { el } from "./dom.js";
import { dateTime, label, t } from "./i18n.js";

const LOW_BATTERY_PERCENT = 20;

function table(headKeys, rows, attrs = {}) {
  if (!rows.length) return el("p", { class: "muted" }, t("common.none"));
  return el("table", attrs, el("thead", {}, el("tr", {}, headKeys.map((k) => el("th", {}, t(k))))), el("tbody", {}, rows));
}

export function respondersBoard(responders) {
  return table(["dispatch.name", "dispatch.kind", "board.status", "board.position", "board.phone"],
    responders.map((r) => el("tr", { dataset: { responderId: String(r.id), status: r.status } },
      el("td", {}, r.name),
      el("td", {}, label("responder_kind", r.kind)),
      el("td", { class: `status ${r.status}` }, label("responder_status", r.status)),
      el("td", {}, r.latitude === null ? "–" : `${r.latitude.toFixed(4)}, ${r.longitude.toFixed(4)}`),
      el("td", {}, r.phone ?? ""))),
    { id: "responders-table" });
}

// Each device's last word: online or offline from its events, the battery from telemetry.
export function devicesBoard(gateways, events, batteries) {
  const devices = new Map();
  for (const e of [...events].reverse()) {  // oldest first: the last one wins
    if (!e.device_id) continue;
    const known = devices.get(e.device_id) ?? { id: e.device_id, gateway: e.gateway_id, online: null, last: null, battery: null };
    if (e.kind === "device_online" || e.kind === "device_back") known.online = true;
    if (e.kind === "device_offline") known.online = false;
    known.last = e.gateway_time;
    devices.set(e.device_id, known);
  }
  for (const b of batteries) {
    if (!b.device_id) continue;
    const known = devices.get(b.device_id) ?? { id: b.device_id, gateway: b.gateway_id, online: null, last: null, battery: null };
    known.battery = b.value;
    if (!known.last || b.time > known.last) known.last = b.time;
    devices.set(b.device_id, known);
  }
  const gatewayRows = gateways.map((g) => el("tr", { dataset: { gatewayId: g.id, state: g.state } },
    el("td", {}, g.id), el("td", {}, g.home_id),
    el("td", { class: `status ${g.state}` }, label("gateway_state", g.state)),
    el("td", {}, dateTime(g.last_seen_at))));
  const deviceRows = [...devices.values()].sort((a, b) => a.id.localeCompare(b.id)).map((d) => {
    const low = typeof d.battery === "number" && d.battery <= LOW_BATTERY_PERCENT;
    return el("tr", { dataset: { deviceId: d.id }, class: (d.online === false ? "offline " : "") + (low ? "low-battery" : "") },
      el("td", {}, d.id), el("td", {}, d.gateway),
      el("td", {}, d.online === null ? "–" : label("gateway_state", d.online ? "online" : "offline")),
      el("td", {}, typeof d.battery === "number" ? `${d.battery}%` : "–"),
      el("td", {}, dateTime(d.last)));
  });
  return el("div", {},
    el("h3", {}, t("board.gateways")),
    table(["health.gateway", "board.home", "board.status", "health.last_seen"], gatewayRows),
    el("h3", {}, t("board.devices")),
    table(["evidence.device", "health.gateway", "board.status", "board.battery", "health.last_seen"], deviceRows));
}

export function ordersBoard(orders) {
  return table(["board.order", "board.home", "board.service", "board.status", "board.scheduled", "board.created"],
    orders.map((o) => el("tr", { dataset: { orderId: String(o.id), state: o.state } },
      el("td", {}, `#${o.id}`), el("td", {}, o.home_id),
      el("td", {}, o.service ? label("service", o.service) : t("board.service_unset")),
      el("td", {}, label("order_state", o.state)),
      el("td", {}, dateTime(o.scheduled_for)), el("td", {}, dateTime(o.created_at)))));
}

// The report of the last 30 days for one organisation (supervisors; an operator is told so).
export async function reportsBoard(container, organisations) {
  if (!organisations.length) { container.replaceChildren(el("p", { class: "muted" }, t("common.none"))); return; }
  const end = new Date(), start = new Date(end.getTime() - 30 * 86400_000);
  const org = organisations[0];
  let report;
  try {
    report = await api(`/api/reports?org=${org.id}&from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(end.toISOString())}`);
  } catch (err) {
    const key = err instanceof ApiError && err.status === 403 ? "report.forbidden" : "report.failed";
    container.replaceChildren(el("p", { class: "muted" }, t(key)));
    return;
  }
  const byKind = Object.entries(report.alarms_by_kind || {}).map(([kind, n]) => [label("kind", kind), n]);
  const chart = el("div", { class: "plot", id: "report-kinds" });
  const ack = report.time_to_acknowledge || {};
  container.replaceChildren(
    el("p", {}, t("report.title", { org: org.name, n: report.alarms })),
    el("h4", {}, t("report.by_kind")), chart,
    el("dl", { class: "facts" },
      el("dt", {}, t("report.ack_p50")), el("dd", {}, ack.p50_s == null ? "–" : t("unit.s", { n: Math.round(ack.p50_s) })),
      el("dt", {}, t("report.ack_60")), el("dd", {}, ack.within_60s == null ? "–" : `${Math.round(ack.within_60s * 100)}%`),
      el("dt", {}, t("report.false_share")), el("dd", {}, report.false_alarm_share == null ? "–" : `${Math.round(report.false_alarm_share * 100)}%`),
      el("dt", {}, t("report.orders_done")), el("dd", {}, String(report.service_orders_completed ?? 0))));
  if (byKind.length) requestAnimationFrame(() => barChart(chart, byKind, t("report.alarms")));
}

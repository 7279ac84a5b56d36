// The last 24 hours of a home's activity before an alarm, as an SVG: one row per room (or
// device), a mark for each report of activity, a bar while a bed, seat or door stayed active.
// Self-contained (no chart library): the operator reads "when did she last move, and where".

import { svg } from "./dom.js";
import { t, time } from "./i18n.js";

const WIDTH = 600;
const ROW = 18;
const LEFT = 110;
const TOP = 14;
export const TIMELINE_S = 24 * 3600;

// ``events``: device events of kind "activity" ({device_id, gateway_time, detail: {sensor,
// value, room}}), any order; ``endIso``: the alarm's time, the right edge.
export function activityTimeline(events, endIso) {
  const end = Date.parse(endIso);
  const start = end - TIMELINE_S * 1000;
  const x = (ms) => LEFT + ((ms - start) / (end - start)) * (WIDTH - LEFT - 8);
  const rows = new Map();
  for (const e of [...events].sort((a, b) => Date.parse(a.gateway_time) - Date.parse(b.gateway_time))) {
    const name = e.detail?.room || e.device_id || "?";
    if (!rows.has(name)) rows.set(name, []);
    rows.get(name).push(e);
  }
  const height = TOP + Math.max(1, rows.size) * ROW + 18;
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "timeline", role: "img",
    "aria-label": t("evidence.activity_24h"), "data-rows": String(rows.size), "data-events": String(events.length) });
  for (let h = 0; h <= 24; h += 6) {
    const at = start + h * 3600 * 1000;
    root.append(svg("line", { x1: x(at), x2: x(at), y1: TOP - 4, y2: height - 16, class: "grid" }),
      svg("text", { x: x(at), y: height - 4, class: "tick", "text-anchor": h === 24 ? "end" : h === 0 ? "start" : "middle" },
        time(new Date(at).toISOString())));
  }
  let row = 0;
  for (const [name, list] of rows) {
    const y = TOP + row * ROW;
    root.append(svg("text", { x: LEFT - 6, y: y + 12, class: "row-label", "text-anchor": "end" }, name));
    let activeSince = null;
    for (const e of list) {
      const at = Date.parse(e.gateway_time);
      const value = Number(e.detail?.value);
      const sensor = e.detail?.sensor;
      if (sensor === "motion" || sensor === "appliance") {
        if (value === 1) root.append(svg("rect", { x: x(at) - 1, y: y + 3, width: 2, height: ROW - 6, class: `mark ${sensor}` }));
      } else if (value === 1) {
        activeSince = activeSince ?? at;
      } else if (activeSince !== null) {
        root.append(svg("rect", { x: x(activeSince), y: y + 5, width: Math.max(2, x(at) - x(activeSince)), height: ROW - 10, class: `bar ${sensor}` }));
        activeSince = null;
      }
    }
    if (activeSince !== null) {
      root.append(svg("rect", { x: x(activeSince), y: y + 5, width: Math.max(2, x(end) - x(activeSince)), height: ROW - 10, class: "bar open" }));
    }
    row += 1;
  }
  root.append(svg("line", { x1: x(end), x2: x(end), y1: TOP - 6, y2: height - 16, class: "alarm-time" }));
  return root;
}

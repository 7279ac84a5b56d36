// A map that needs no internet: the organisation's homes and responders drawn as SVG from
// their coordinates. Equirectangular projection of the bounding box (x scaled by the cosine
// of the middle latitude, so a kilometre is as long east-west as north-south at a district's
// scale), with a scale bar. No tiles, no outside service.

import { svg } from "./dom.js";
import { label, t } from "./i18n.js";

const EARTH_M_PER_DEG = 111_195;  // metres per degree of latitude (mean Earth radius)
const NICE = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export function projection(points, width, height, pad = 30) {
  const lats = points.map((p) => p.latitude), lons = points.map((p) => p.longitude);
  let [south, north, west, east] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const span = 0.005;  // at least ~500 m across, so one home does not fill the map
  if (north - south < span) { const mid = (north + south) / 2; south = mid - span / 2; north = mid + span / 2; }
  if (east - west < span) { const mid = (east + west) / 2; west = mid - span / 2; east = mid + span / 2; }
  const cos = Math.cos(((north + south) / 2) * Math.PI / 180);
  const scale = Math.min((width - 2 * pad) / ((east - west) * cos), (height - 2 * pad) / (north - south));
  const usedW = (east - west) * cos * scale, usedH = (north - south) * scale;
  const x0 = (width - usedW) / 2, y0 = (height - usedH) / 2;
  return {
    x: (lon) => x0 + (lon - west) * cos * scale,
    y: (lat) => y0 + (north - lat) * scale,
    metresPerPx: EARTH_M_PER_DEG / scale,
  };
}

function scaleBar(proj, width, height) {
  const target = proj.metresPerPx * width / 4;
  const metres = NICE.reduce((best, n) => (n <= target ? n : best), NICE[0]);
  const px = metres / proj.metresPerPx;
  const text = metres >= 1000 ? t("map.km", { n: metres / 1000 }) : t("map.m", { n: metres });
  return svg("g", { class: "scale-bar", transform: `translate(${12},${height - 14})` },
    svg("path", { d: `M0,-6 V0 H${px.toFixed(1)} V-6`, fill: "none", stroke: "#333", "stroke-width": 2 }),
    svg("text", { x: px + 6, y: 0 }, text));
}

// The area the centre serves, as the convex hull (Andrew's monotone chain) of its homes'
// positions, widened by ``margin`` px: a base layer that needs no boundary file. Points are
// [x, y] in screen space; fewer than three give no area.
export function serviceArea(points, margin = 18) {
  const pts = [...new Map(points.map((p) => [`${p[0]},${p[1]}`, p])).values()]
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return null;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list) => {
    const out = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], p) <= 0) out.pop();
      out.push(p);
    }
    return out.slice(0, -1);
  };
  const hull = [...half(pts), ...half([...pts].reverse())];
  if (hull.length < 3) return null;
  const cx = hull.reduce((s, p) => s + p[0], 0) / hull.length;
  const cy = hull.reduce((s, p) => s + p[1], 0) / hull.length;
  return hull.map(([x, y]) => {
    const d = Math.hypot(x - cx, y - cy) || 1;
    return [x + ((x - cx) / d) * margin, y + ((y - cy) / d) * margin];
  });
}

// ``homes`` [{id, address, latitude, longitude}], ``responders`` [{name, status, latitude, longitude}],
// ``alarmed`` a Set of home ids with an open alarm, ``focus`` one home id to ring.
export function drawMap(container, { homes, responders, alarmed = new Set(), focus = null, width = 640, height = 360 }) {
  const placed = responders.filter((r) => r.latitude !== null && r.longitude !== null);
  const points = [...homes, ...placed];
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "map", role: "img", "aria-label": t("map.title") });
  root.append(svg("rect", { x: 0, y: 0, width, height, class: "map-ground" }));
  if (!points.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, t("map.nothing")));
    container.replaceChildren(root);
    return root;
  }
  const proj = projection(points, width, height);
  const area = serviceArea(homes.map((h) => [proj.x(h.longitude), proj.y(h.latitude)]));
  if (area) {
    root.append(svg("polygon", { class: "service-area", points: area.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" ") },
      svg("title", {}, t("map.service_area"))));
  }
  for (const home of homes) {
    const x = proj.x(home.longitude), y = proj.y(home.latitude);
    const cls = ["home", alarmed.has(home.id) ? "alarmed" : "", home.id === focus ? "focus" : ""].join(" ").trim();
    root.append(svg("g", { class: cls, "data-home-id": home.id },
      svg("title", {}, `${home.id} · ${home.address}`),
      home.id === focus ? svg("circle", { cx: x, cy: y, r: 14, class: "ring" }) : null,
      svg("rect", { x: x - 6, y: y - 6, width: 12, height: 12 }),
      svg("text", { x: x + 9, y: y + 4 }, home.id)));
  }
  for (const responder of placed) {
    const x = proj.x(responder.longitude), y = proj.y(responder.latitude);
    root.append(svg("g", { class: `responder ${responder.status}`, "data-responder-id": responder.id },
      svg("title", {}, `${responder.name} · ${label("responder_status", responder.status)}`),
      svg("circle", { cx: x, cy: y, r: 6 }),
      svg("text", { x: x + 9, y: y + 4 }, responder.name)));
  }
  root.append(scaleBar(proj, width, height));
  container.replaceChildren(root);
  return root;
}

// Charts with uPlot (vendored, see vendor/uplot/): a fall's acceleration trace, and bars for
// the boards. The data is numbers only; labels come from the catalogues.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { t } from "./i18n.js";

const AXIS_COLOURS = ["#1565c0", "#2e7d32", "#ef6c00"];

function width(container) {
  return Math.max(320, Math.floor(container.getBoundingClientRect().width || 560) - 8);
}

// ``trace``: {t_s: [s], g: [[x, y, z] in g]}, seconds relative to the impact.
export function accelerationPlot(container, trace) {
  const order = trace.t_s.map((_, i) => i).sort((a, b) => trace.t_s[a] - trace.t_s[b]);
  const times = order.map((i) => trace.t_s[i]);
  const axes = [0, 1, 2].map((k) => order.map((i) => trace.g[i][k]));
  const magnitude = order.map((i) => Math.hypot(...trace.g[i]));
  const series = [
    { label: t("evidence.time_s") },
    ...["x", "y", "z"].map((axis, k) => ({
      label: t(`evidence.axis_${axis}`), stroke: AXIS_COLOURS[k], width: 1,
    })),
    { label: t("evidence.magnitude"), stroke: "#b3261e", width: 2 },
  ];
  const plot = new uPlot({
    width: width(container),
    height: 220,
    series,
    scales: { x: { time: false } },
    axes: [
      { label: t("evidence.time_s") },
      { label: t("evidence.g") },
    ],
    legend: { live: false },
  }, [times, ...axes, magnitude], container);
  plot.root.dataset.points = String(times.length);
  return plot;
}

// Bars of counts by label: ``entries`` [[label, value], ...].
export function barChart(container, entries, seriesLabel) {
  const xs = entries.map((_, i) => i);
  const names = entries.map(([name]) => name);
  const plot = new uPlot({
    width: width(container),
    height: 200,
    series: [
      { label: "" },
      { label: seriesLabel, stroke: "#1b2b44", fill: "#1b2b4455", paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false } },
    ],
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, entries.length - 0.5)] } },
    axes: [
      { values: (_u, ticks) => ticks.map((i) => names[i] ?? ""), splits: () => xs },
      {},
    ],
    legend: { show: false },
  }, [xs, entries.map(([, value]) => value)], container);
  return plot;
}

// Lines over time: ``lines`` [{label, points: [{time, mean}]}], times read as local clock times.
// ``window`` [start, end] in epoch seconds: the axis spans it even with one reading so far.
export function trendChart(container, lines, lang, window) {
  const times = [...new Set(lines.flatMap((l) => l.points.map((p) => Date.parse(p.time) / 1000)))].sort((a, b) => a - b);
  const at = new Map(times.map((x, i) => [x, i]));
  const data = [times, ...lines.map((l) => {
    const column = new Array(times.length).fill(null);
    for (const p of l.points) column[at.get(Date.parse(p.time) / 1000)] = p.mean;
    return column;
  })];
  const clock = (s) => new Date(s * 1000).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hour12: false });
  return new uPlot({
    width: width(container),
    height: 200,
    series: [
      { label: t("evidence.clock"), value: (_u, v) => (v === null ? "--" : clock(v)) },
      ...lines.map((l, k) => ({ label: l.label, stroke: AXIS_COLOURS[k % AXIS_COLOURS.length], width: 2, points: { show: true, size: 6 } })),
    ],
    scales: { x: { time: true, range: () => window } },
    axes: [{ values: (_u, ticks) => ticks.map(clock) }, {}],
    legend: { live: false },
  }, data, container);
}

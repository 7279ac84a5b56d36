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

// Charts: time series with uPlot (vendored, ~50 KB: canvas, fast at thousands of points), distributions as
// inline SVG (bins of unequal width, which uPlot's bar paths do not draw). Every chart is a figure with a
// figcaption saying what it shows in words, and the numbers in a table behind a details element.

import {h, s, num, when, pct} from "./dom.js";

const PALETTE = ["#1d4f91", "#c0392b", "#2e7d32", "#8e44ad", "#b7791f", "#00838f", "#5d4037", "#455a64"];
const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2], [12, 6]];
const pending = [];

/** The numbers behind a chart, for screen readers and for copying. */
export function dataTable(columns, rows, label) {
  return h("details", {class: "chart-data"},
    h("summary", {}, label || "Data table"),
    h("div", {class: "table-scroll"},
      h("table", {class: "data"},
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)))),
        h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => i === 0 ? h("th", {scope: "row"}, c) : h("td", {class: "num"}, c))))))));
}

/**
 * A time chart. spec: {id, caption, x: [epoch s], series: [{label, values, unit?, band?: {low, high}, dash?, points?}],
 * format?: (v) => string, height?, yLabel?}. Series are told apart by dash pattern and point marker as well as
 * colour; an interval (band) is drawn as a shaded area between its low and high.
 */
export function timeChart(spec) {
  const fmt = spec.format || ((v) => num(v));
  const plot = h("div", {class: "plot", "aria-hidden": "true"});
  const figure = h("figure", {class: "chart", id: spec.id || null},
    plot,
    h("figcaption", {}, spec.caption),
    dataTable(["Time (UTC)", ...spec.series.flatMap((se) => se.band ? [se.label, `${se.label} low`, `${se.label} high`] : [se.label])],
      spec.x.map((t, i) => [when(t), ...spec.series.flatMap((se) => se.band
        ? [fmt(se.values[i]), fmt(se.band.low[i]), fmt(se.band.high[i])] : [fmt(se.values[i])])]),
      `Data table: ${spec.title || "values over time"}`));
  if (spec.x.length < 2) {  // a line needs two points; one window's numbers read better in the table
    plot.replaceWith(h("p", {class: "empty"}, spec.x.length ? "One window so far: its numbers are in the table below." : "No data in this period."));
    return figure;
  }
  pending.push(() => draw(plot, spec, fmt));
  return figure;
}

function draw(plot, spec, fmt) {
  if (typeof uPlot === "undefined") {
    plot.replaceWith(h("p", {class: "empty"}, "The chart library did not load; the table below holds the numbers."));
    return;
  }
  const data = [spec.x];
  const series = [{value: (u, v) => v === null ? "–" : when(v)}];
  const bands = [];
  spec.series.forEach((se, i) => {
    const color = se.color || PALETTE[i % PALETTE.length];
    data.push(se.values.map((v) => v ?? null));
    const idx = data.length - 1;
    series.push({label: se.label, stroke: color, width: 2, dash: se.dash || DASHES[i % DASHES.length],
      spanGaps: false, value: (u, v) => v === null || v === undefined ? "–" : fmt(v),
      points: {show: se.points ?? spec.x.length < 60, size: 6, fill: color}});
    if (se.band) {
      data.push(se.band.high.map((v) => v ?? null), se.band.low.map((v) => v ?? null));
      const band = {band: true, stroke: "transparent", width: 0, points: {show: false}, value: (u, v) => v === null || v === undefined ? "–" : fmt(v)};
      series.push({...band, label: `${se.label} high`}, {...band, label: `${se.label} low`});
      bands.push({series: [idx + 1, idx + 2], fill: color + "26"});
    }
  });
  const width = Math.max(280, Math.min(plot.parentElement.clientWidth || 640, 1100));
  const opts = {
    width, height: spec.height || 220, series, bands,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    // a share starts at 0 and shows at least 0 to 5%, so a flat 0% line reads as "none", not as noise
    scales: {x: {time: true}, y: spec.share ? {range: (u, lo, hi) => [0, Math.max(hi ?? 0, 0.05) * 1.1]} : {}},
    axes: [{}, {label: spec.yLabel || "", values: (u, ticks) => ticks.map((v) => fmt(v)), size: 60}],
    legend: {live: true},
    cursor: {drag: {x: true, y: false}},
  };
  const chart = new uPlot(opts, data, plot);
  // an interval's two edges are series of their own: their values show with the line's, not as legend entries
  const rows = chart.root.querySelectorAll(".u-legend .u-series");
  series.forEach((se, i) => { if (se.band && rows[i]) rows[i].classList.add("u-band-edge"); });
  new ResizeObserver(() => {
    const w = Math.max(280, Math.min(plot.parentElement?.clientWidth || width, 1100));
    if (Math.abs(w - chart.width) > 4) chart.setSize({width: w, height: opts.height});
  }).observe(plot.parentElement);
}

/** Draw the time charts made since the last call: after they are in the document, so they know their width. */
export function drawPending() {
  while (pending.length) pending.shift()();
}

/** Drop charts that were made but never shown (a render that failed half way). */
export function dropPending() {
  pending.length = 0;
}

// --- distributions -------------------------------------------------------------------------------------

const W = 640;
const H = 240;
const PAD = {l: 48, r: 12, t: 12, b: 36};

/**
 * Reference against current: the report's chart dict (numeric: edges, reference, current, below, above;
 * categorical: categories, reference, current, other). Reference bars are outlined and hatched, current bars
 * solid, side by side in each bin: the two differ in shape, not only in colour.
 */
export function distributionFigure(dist, caption, id) {
  const figure = h("figure", {class: "chart", id: id || null});
  if (!dist) {
    figure.append(h("p", {class: "empty"}, "No distribution for this window: the feature has no profile here."),
      h("figcaption", {}, caption));
    return figure;
  }
  const svg = dist.type === "categorical" ? categorical(dist) : numeric(dist);
  figure.append(h("div", {class: "legend-static", "aria-hidden": "true"},
    h("span", {class: "swatch swatch-ref"}), "reference ", h("span", {class: "swatch swatch-cur"}), "current"),
  svg, h("figcaption", {}, caption), distributionTable(dist));
  return figure;
}

function defs() {
  return s("defs", {},
    s("pattern", {id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"},
      s("rect", {width: 6, height: 6, fill: "#ffffff"}),
      s("line", {x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#6b7280", "stroke-width": 2})));
}

function numeric(d) {
  const n = d.reference.length;
  const edges = d.edges;
  const dens = (arr) => arr.map((v, i) => v / Math.max(edges[i + 1] - edges[i], 1e-12));
  const rd = dens(d.reference);
  const cd = dens(d.current);
  const ymax = Math.max(...rd, ...cd, 1e-12);
  const x0 = edges[0];
  const x1 = edges[n];
  const sx = (v) => PAD.l + ((v - x0) / ((x1 - x0) || 1)) * (W - PAD.l - PAD.r);
  const sy = (v) => H - PAD.b - (v / ymax) * (H - PAD.t - PAD.b);
  const bars = [];
  for (let i = 0; i < n; i++) {
    const a = sx(edges[i]);
    const b = sx(edges[i + 1]);
    const mid = (a + b) / 2;
    bars.push(s("rect", {class: "bar-ref", x: a, y: sy(rd[i]), width: Math.max(mid - a, 0.5), height: H - PAD.b - sy(rd[i])}),
      s("rect", {class: "bar-cur", x: mid, y: sy(cd[i]), width: Math.max(b - mid, 0.5), height: H - PAD.b - sy(cd[i])}));
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => x0 + f * (x1 - x0));
  return s("svg", {viewBox: `0 0 ${W} ${H}`, class: "dist", "aria-hidden": "true", focusable: "false"},
    defs(), bars,
    s("line", {x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b, class: "axis"}),
    ticks.map((t) => s("text", {x: sx(t), y: H - PAD.b + 16, "text-anchor": "middle", class: "tick"}, num(t))),
    s("text", {x: 4, y: PAD.t + 4, class: "tick"}, "density"));
}

function categorical(d) {
  const cats = [...d.categories.map(String)];
  const ref = [...d.reference];
  const cur = [...d.current];
  if (d.other) {
    cats.push(`other (${d.other.categories})`);
    ref.push(d.other.reference);
    cur.push(d.other.current);
  }
  const row = 26;
  const height = PAD.t + row * cats.length + 8;
  const left = 150;
  const max = Math.max(...ref, ...cur, 1e-12);
  const sx = (v) => (v / max) * (W - left - 130);  // room for the shares' label after the longest bar
  const out = [];
  cats.forEach((c, i) => {
    const y = PAD.t + i * row;
    const label = c.length > 22 ? `${c.slice(0, 21)}…` : c;
    out.push(s("text", {x: left - 6, y: y + 15, "text-anchor": "end", class: "tick"}, label),
      s("rect", {class: "bar-ref", x: left, y: y + 2, width: Math.max(sx(ref[i]), 0.5), height: 10}),
      s("rect", {class: "bar-cur", x: left, y: y + 12, width: Math.max(sx(cur[i]), 0.5), height: 10}),
      s("text", {x: left + Math.max(sx(Math.max(ref[i], cur[i])), 0) + 4, y: y + 16, class: "tick"}, `${pct(ref[i], 1)} → ${pct(cur[i], 1)}`));
  });
  return s("svg", {viewBox: `0 0 ${W} ${height}`, class: "dist", "aria-hidden": "true", focusable: "false"}, defs(), out);
}

function distributionTable(d) {
  if (d.type === "categorical") {
    const rows = d.categories.map((c, i) => [String(c), pct(d.reference[i], 1), pct(d.current[i], 1)]);
    if (d.other) rows.push([`other (${d.other.categories} categories)`, pct(d.other.reference, 1), pct(d.other.current, 1)]);
    return dataTable(["Category", "Reference share", "Current share"], rows, "Data table: shares per category");
  }
  const rows = d.reference.map((r, i) => [`${num(d.edges[i])} to ${num(d.edges[i + 1])}`, pct(r, 1), pct(d.current[i], 1)]);
  if (d.below) rows.unshift([`at most ${num(d.edges[0])}`, pct(d.below.reference, 1), pct(d.below.current, 1)]);
  if (d.above) rows.push([`above ${num(d.edges[d.edges.length - 1])}`, pct(d.above.reference, 1), pct(d.above.current, 1)]);
  return dataTable(["Bin", "Reference share", "Current share"], rows, "Data table: shares per bin");
}

/** In words: where the two distributions differ most (the figcaption's text alternative). */
export function describeDistribution(d) {
  if (!d) return "";
  if (d.type === "categorical") {
    let best = 0;
    d.categories.forEach((c, i) => { if (Math.abs(d.current[i] - d.reference[i]) > Math.abs(d.current[best] - d.reference[best])) best = i; });
    if (!d.categories.length) return "No categories.";
    return `Largest change: category "${d.categories[best]}" from ${pct(d.reference[best], 1)} of rows in the reference to ${pct(d.current[best], 1)} now.`;
  }
  const mean = (shares) => shares.reduce((acc, v, i) => acc + v * (d.edges[i] + d.edges[i + 1]) / 2, 0) / Math.max(shares.reduce((a, b) => a + b, 0), 1e-12);
  let best = 0;
  d.reference.forEach((r, i) => { if (Math.abs(d.current[i] - r) > Math.abs(d.current[best] - d.reference[best])) best = i; });
  const tails = d.above && d.below ? ` Outside the reference's range: ${pct(d.below.current + d.above.current, 1)} of current rows (reference ${pct(d.below.reference + d.above.reference, 1)}).` : "";
  return `Mean of the binned values ${num(mean(d.reference))} in the reference, ${num(mean(d.current))} now; the bin from ${num(d.edges[best])} to ${num(d.edges[best + 1])} changed most (${pct(d.reference[best], 1)} to ${pct(d.current[best], 1)} of rows).${tails}`;
}

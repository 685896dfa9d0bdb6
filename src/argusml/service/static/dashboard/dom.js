// Building the page from data without ever parsing data as markup: every string goes in as a text node or
// an attribute value (model names, categories and messages come from the API and may hold anything).

export const SVG_NS = "http://www.w3.org/2000/svg";

/** An element: h("a", {href: "/x", class: "c", dataset: {model: m}}, "text", child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, the same way. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.entries(v).forEach(([dk, dv]) => { if (dv !== null && dv !== undefined) el.dataset[dk] = String(dv); });
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// --- numbers and times -------------------------------------------------------------------------------

export function pct(x, digits = 0) {
  return x === null || x === undefined || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(digits)}%`;
}

export function num(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en");
  return Number(x.toPrecision(digits)).toString();
}

export function ms(x) {
  return x === null || x === undefined ? "–" : `${num(x, 3)} ms`;
}

/** "3 h 20 min", "45 s", "2 d 4 h": an age or a duration in seconds. */
export function duration(sec) {
  if (sec === null || sec === undefined || Number.isNaN(sec)) return "–";
  sec = Math.max(0, sec);
  if (sec < 90) return `${Math.round(sec)} s`;
  const m = Math.round(sec / 60);
  if (m < 90) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? `${d} d ${hrs % 24} h` : `${d} d`;
}

export function toEpoch(t) {
  if (t === null || t === undefined) return null;
  return typeof t === "number" ? t : Date.parse(t) / 1000;
}

/** "2026-12-07 08:00 UTC": times in UTC, as the API, the alerts and the reports write them. */
export function when(t) {
  const e = toEpoch(t);
  if (e === null || Number.isNaN(e)) return "–";
  return new Date(e * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export function timeEl(t) {
  const e = toEpoch(t);
  if (e === null || Number.isNaN(e)) return "–";
  return h("time", {datetime: new Date(e * 1000).toISOString()}, when(e));
}

export function ago(t) {
  const e = toEpoch(t);
  return e === null ? "never" : `${duration(Date.now() / 1000 - e)} ago`;
}

// --- health: a shape and a word, never colour alone ---------------------------------------------------

const HEALTH = {
  ok: {label: "OK", shape: "M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13Z"},               // circle
  warning: {label: "Warning", shape: "M8 1.5 15 14.5H1Z"},                                 // triangle
  incident: {label: "Incident", shape: "M5 1.5h6l4.5 4.5v4L11 14.5H5L.5 10V6Z"},          // octagon
  unknown: {label: "Unknown", shape: "M2 2h12v12H2Z"},                                     // square
};

export function healthOf(state) {
  return HEALTH[state] ? state : "unknown";
}

/** The icon (its shape differs per state) and the word; the colour only repeats them. */
export function healthBadge(state, extra) {
  const k = healthOf(state);
  return h("span", {class: `health health-${k}`},
    s("svg", {viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true", focusable: "false"},
      s("path", {d: HEALTH[k].shape})),
    h("span", {class: "health-label"}, HEALTH[k].label), extra ? [" ", extra] : null);
}

export function severityBadge(sev) {
  return h("span", {class: `sev sev-${String(sev).toLowerCase()}`}, String(sev));
}

export function section(panel, title, ...children) {
  const id = `panel-${panel}`;
  return h("section", {dataset: {panel}, "aria-labelledby": id, class: "panel"}, h("h2", {id}, title), children);
}

/** A sortable or plain table: columns [{key, label, sort?, num?}], rows of cells (nodes or text). */
export function table(attrs, columns, rows, caption) {
  return h("table", attrs,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col", class: c.num ? "num" : null}, c.label)))),
    h("tbody", {}, rows));
}

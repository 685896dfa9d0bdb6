// The page's state lives in its URL (view, version, segment, filters, sort, page): these read and change it.

import {h, clear} from "./dom.js";

let redraw = () => {};

/** app.js registers its render here: navigate() redraws after changing the URL. */
export function onNavigate(fn) {
  redraw = fn;
}

export const VIEWS = [
  {key: "ml", label: "ML engineer", title: "drift, features, performance"},
  {key: "sre", label: "SRE", title: "latency, errors, saturation, freshness"},
  {key: "business", label: "Business", title: "outcomes and accuracy in plain words"},
  {key: "exec", label: "Executive", title: "one line per model: fine or not, since when, what is being done"},
];

export function params() {
  return new URLSearchParams(location.search);
}

export function view() {
  const v = params().get("view");
  return VIEWS.some((x) => x.key === v) ? v : "ml";
}

/** The current URL with these query values changed (null or "" removes one); as a path + query string. */
export function urlWith(changes, path = location.pathname) {
  const q = params();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, v);
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Change the page's state: a new history entry (or, while typing, the same one) and a redraw. */
export function navigate(changes, {replace = false} = {}) {
  const url = urlWith(changes);
  if (url === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", url);
  redraw();
}

/** A link to another page carrying the current view. */
export function link(path, extra) {
  const v = view();
  const q = new URLSearchParams(extra || {});
  if (v !== "ml") q.set("view", v);
  for (const [k, val] of [...q.entries()]) if (val === "" || val === "null" || val === "undefined") q.delete(k);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

export function setCrumbs(items) {
  const nav = clear(document.getElementById("crumbs"));
  if (!items.length) return;
  nav.append(h("ol", {}, items.map(([label, href], i) => h("li", {},
    href && i < items.length - 1 ? h("a", {href}, label) : h("span", {"aria-current": "page"}, label)))));
}


// The dashboard's entry: reads the page and its state from the URL, draws it, and keeps the URL the only
// state, so any view can be pasted into a runbook and the back button walks through what was looked at.
// Test hook: body[data-ready] is "false" while drawing, "true" once everything is drawn, "error" when a call
// failed (with the message in #error).

import {ApiError, askToken, setToken, token} from "./api.js";
import {drawPending, dropPending} from "./charts.js";
import {h, clear} from "./dom.js";
import {VIEWS, navigate, onNavigate, urlWith, view} from "./state.js";
import * as overview from "./overview.js";
import * as modelPage from "./model.js";
import * as featurePage from "./feature.js";
import * as incidentPage from "./incident.js";

/** The page named by the path: [module, its path parameters], or null for a path the dashboard lacks. */
function route(path) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return [overview, {}];
  if (parts[0] === "models" && parts.length === 2) return [modelPage, {model: parts[1]}];
  if (parts[0] === "models" && parts.length === 4 && parts[2] === "features") return [featurePage, {model: parts[1], feature: parts[3]}];
  if (parts[0] === "incidents" && parts.length === 2) return [incidentPage, {id: parts[1]}];
  return null;
}

function drawViews() {
  const nav = clear(document.getElementById("views"));
  const current = view();
  nav.append(h("ul", {}, VIEWS.map((v) => h("li", {},
    h("a", {href: urlWith({view: v.key}), title: v.title, dataset: {view: v.key},
      "aria-current": v.key === current ? "page" : null,
      onclick: (ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        navigate({view: v.key});
      }}, v.label)))));
}

function showError(err) {
  const box = document.getElementById("error");
  clear(box);
  let msg = String(err?.message || err);
  if (err instanceof ApiError && err.status === 403) msg = `The token was refused: ${typeof err.detail === "string" ? err.detail : err.error}. Use a token with the read scope (and this model) in "API token".`;
  else if (err instanceof ApiError) msg = `The API answered ${err.status} (${err.error}) for ${err.path}${err.detail ? `: ${typeof err.detail === "string" ? err.detail : JSON.stringify(err.detail)}` : ""}`;
  else if (err instanceof TypeError) msg = `The service did not answer (${msg}). Is argus serve still running?`;
  box.append(h("strong", {}, "Could not load this page. "), msg);
  box.hidden = false;
}

let generation = 0;
let lastFocused = null;  // the id of what had the focus: a redraw that removed it gives it back
document.addEventListener("focusin", (ev) => { lastFocused = ev.target?.id || null; });

export async function render() {
  const mine = ++generation;
  const main = document.getElementById("main");
  document.body.dataset.ready = "false";
  document.getElementById("error").hidden = true;
  drawViews();
  const found = route(location.pathname);
  const page = h("div", {class: `page view-${view()}`});
  try {
    if (!found) throw new Error(`No dashboard page at ${location.pathname}: start from the overview at /.`);
    const [mod, args] = found;
    await mod.render(page, args, view());
    if (mine !== generation) return;  // a newer render (the person clicked on) owns the page now
    clear(main).append(page);
    drawPending();
    const lost = !document.activeElement || document.activeElement === document.body;
    const again = lost && lastFocused && lastFocused !== "main" ? document.getElementById(lastFocused) : null;
    if (again) {  // the redrawn page keeps the focus (and a text field its caret) where the person was
      again.focus();
      if (again.tagName === "INPUT" && again.type !== "checkbox") again.setSelectionRange?.(again.value.length, again.value.length);
    }
    document.getElementById("status").textContent = `${document.title} loaded`;
    document.body.dataset.ready = "true";
  } catch (err) {
    if (mine !== generation) return;
    dropPending();
    clear(main).append(page);
    showError(err);
    document.body.dataset.ready = "error";
  }
}

function setupToken() {
  const button = document.getElementById("token-button");
  const form = document.getElementById("token-form");
  button.addEventListener("click", () => {
    if (form.hidden) {
      askToken("Give a bearer token (argus token create). It is kept in this browser's local storage and sent with every call.")
        .then(() => render());
      document.getElementById("token-input").value = token();
    } else {
      form.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
  document.getElementById("token-clear").addEventListener("click", () => {
    setToken("");
    document.getElementById("token-input").value = "";
    document.getElementById("status").textContent = "Token forgotten";
  });
}

onNavigate(render);
window.addEventListener("popstate", () => render());
setupToken();
render();

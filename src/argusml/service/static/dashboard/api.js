// Calls to the JSON API with the person's bearer token. The pages are public; the data is not: when the API
// answers 401 the token form opens, and the call is retried with what was entered (kept in localStorage).

const KEY = "argus.token";

export class ApiError extends Error {
  constructor(status, error, detail, path) {
    super(`${path}: ${status} ${error}${detail ? ` (${typeof detail === "string" ? detail : JSON.stringify(detail)})` : ""}`);
    this.status = status;
    this.error = error;
    this.detail = detail;
    this.path = path;
  }
}

export function token() {
  try {
    return localStorage.getItem(KEY) || "";
  } catch {
    return "";  // storage refused (a private window's policy): calls go without a token
  }
}

export function setToken(value) {
  try {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  } catch {
    // nowhere to keep it: it lasts until the page is reloaded
  }
  memoryToken = value;
}

let memoryToken = null;
let waiting = null;  // one token prompt at a time, however many calls got a 401

/** Opens the token form with a reason and resolves once a token is submitted. */
export function askToken(reason) {
  const form = document.getElementById("token-form");
  const why = document.getElementById("token-why");
  const button = document.getElementById("token-button");
  if (reason) why.textContent = reason;
  form.hidden = false;
  button.setAttribute("aria-expanded", "true");
  document.getElementById("token-input").focus();
  if (!waiting) {
    waiting = new Promise((resolve) => {
      const done = (ev) => {
        ev.preventDefault();
        const value = document.getElementById("token-input").value.trim();
        if (!value) return;
        setToken(value);
        form.hidden = true;
        button.setAttribute("aria-expanded", "false");
        form.removeEventListener("submit", done);
        waiting = null;
        resolve(value);
      };
      form.addEventListener("submit", done);
    });
  }
  return waiting;
}

function headers(extra) {
  const t = memoryToken ?? token();
  return t ? {...extra, Authorization: `Bearer ${t}`} : {...extra};
}

async function call(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const init = {method, headers: headers(body === undefined ? {Accept: "application/json"}
      : {Accept: "application/json", "Content-Type": "application/json"})};
    if (body !== undefined) init.body = JSON.stringify(body);
    const r = await fetch(path, init);
    if (r.status === 401 && attempt < 3) {
      await askToken(token() ? "The API did not accept the stored token: enter another one." :
        "The API asks for a bearer token (argus token create). It is kept in this browser's local storage.");
      continue;
    }
    let data = null;
    try {
      data = await r.json();
    } catch {
      data = null;
    }
    if (!r.ok) throw new ApiError(r.status, data?.error || r.statusText, data?.detail, path);
    return data;
  }
}

/** GET path with the query's non-empty values. */
export function get(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const qs = q.toString();
  return call("GET", qs ? `${path}?${qs}` : path);
}

/** GET that answers null on a 404 (an endpoint or a thing the server does not have). */
export async function getOptional(path, query) {
  try {
    return await get(path, query);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export function post(path, body) {
  return call("POST", path, body ?? {});
}

export const enc = encodeURIComponent;

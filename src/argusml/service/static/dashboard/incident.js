// One incident: its status, the recommendation, the ranked causes, the alerts, the timeline, the runbooks,
// and acknowledge / resolve (POSTs that need a token with the write scope). The pieces are shared with the
// model page's incident panel.

import {ApiError, askToken, enc, get, post} from "./api.js";
import {append, clear, duration, h, severityBadge, timeEl} from "./dom.js";
import {link, setCrumbs} from "./state.js";

const STATUS_WORDS = {open: "Open", acknowledged: "Acknowledged", resolved: "Resolved"};

export function statusBadge(status) {
  const shape = {open: "●", acknowledged: "◐", resolved: "○"}[status] || "?";
  return h("span", {class: `istatus istatus-${status}`}, h("span", {"aria-hidden": "true"}, `${shape} `), STATUS_WORDS[status] || status);
}

/** The ranked causes: each names its alert (name, column, version) and the evidence for the ranking. */
export function causesList(inc, id) {
  const byId = new Map((inc.alerts || []).map((a) => [a.id, a]));
  const items = (inc.causes || []).map((c) => {
    const a = byId.get(c.alert_id);
    return h("li", {},
      a ? [h("strong", {}, a.name), a.labels?.column ? ` on ${a.labels.column}` : "", a.model_version ? ` (${a.model_version})` : "",
        ": ", a.summary || ""] : h("strong", {}, c.alert_id),
      c.evidence ? h("div", {class: "why"}, c.evidence) : null);
  });
  if (!items.length) return h("p", {class: "muted"}, "No cause ranked yet.");
  return h("ol", {id: id || null, class: "causes"}, items);
}

export function timelineList(inc, id) {
  return h("ol", {id: id || null, class: "timeline"}, (inc.timeline || []).map((t) =>
    h("li", {}, timeEl(t.at), " ", h("strong", {}, t.event.replaceAll("_", " ")), t.detail ? ` — ${t.detail}` : "")));
}

/** Distinct runbooks of the incident's alerts (the shipped ones are public pages of this service). */
export function runbookLinks(inc) {
  const seen = new Map();
  for (const a of inc.alerts || []) if (a.runbook_url && !seen.has(a.runbook_url)) seen.set(a.runbook_url, a.name);
  if (!seen.size) return h("p", {class: "muted"}, "No runbook linked to these alerts.");
  return h("ul", {class: "runbooks"}, [...seen].map(([url, name]) =>
    h("li", {}, h("a", {href: safeHref(url), dataset: {runbook: name}}, `Runbook: ${name}`))));
}

/** Only http(s) or same-site links become hrefs: a config's runbook URL must not be a javascript: one. */
export function safeHref(url) {
  try {
    const u = new URL(url, location.origin);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "#";
  } catch {
    return "#";
  }
}

/** Acknowledge and resolve buttons with an optional comment; `after(updated)` redraws with the answer. */
export function actions(inc, after) {
  const note = h("p", {class: "action-note", role: "status", "aria-live": "polite"});
  if (inc.status === "resolved") return h("div", {class: "actions"}, h("p", {}, "Resolved", inc.resolved_by ? ` by ${inc.resolved_by}` : "", " at ", timeEl(inc.resolved_at), "."));
  const comment = h("input", {type: "text", class: "comment", maxlength: 2000, placeholder: "comment (optional)",
    "aria-label": `Comment for incident ${inc.id}`});
  const act = async (action, button) => {
    button.disabled = true;
    clear(note);
    try {
      const updated = await post(`/v1/incidents/${enc(inc.id)}/${action}`, comment.value ? {comment: comment.value} : {});
      note.textContent = action === "ack" ? "Acknowledged." : "Resolved.";
      after(updated);
    } catch (e) {
      button.disabled = false;
      if (e instanceof ApiError && e.status === 403) {
        note.textContent = `Not allowed: ${typeof e.detail === "string" ? e.detail : "the token"} — ${action === "ack" ? "acknowledging" : "resolving"} needs a token with the write scope. `;
        note.append(h("button", {type: "button", onclick: () => askToken("Give a token with the write scope to acknowledge or resolve incidents.")}, "Use another token"));
      } else if (e instanceof ApiError) {
        note.textContent = `The API answered ${e.status}: ${typeof e.detail === "string" ? e.detail : e.error}`;
      } else {
        note.textContent = `The service did not answer: ${e.message}`;
      }
    }
  };
  const ack = h("button", {type: "button", dataset: {action: "ack"}, disabled: inc.status !== "open",
    onclick: (ev) => act("ack", ev.currentTarget)}, inc.status === "acknowledged" ? `Acknowledged by ${inc.acknowledged_by || "someone"}` : "Acknowledge");
  const resolve = h("button", {type: "button", dataset: {action: "resolve"}, onclick: (ev) => act("resolve", ev.currentTarget)}, "Resolve");
  return h("div", {class: "actions"}, comment, ack, resolve, note);
}

export async function render(root, args) {
  const inc = await get(`/v1/incidents/${enc(args.id)}`);
  document.title = `${inc.id} · ${inc.model} · Argus`;
  setCrumbs([["Models", link("/")], [inc.model, link(`/models/${enc(inc.model)}`)], [`Incident ${inc.id}`, null]]);
  const article = h("article", {id: "incident", dataset: {status: inc.status}, "aria-labelledby": "incident-title"});
  const draw = (i) => {
    clear(article);
    article.dataset.status = i.status;
    const rec = i.recommendation;
    append(article, [
      h("h1", {id: "incident-title"}, severityBadge(i.severity), " ", i.title),
      h("dl", {class: "facts"},
        h("dt", {}, "Status"), h("dd", {}, statusBadge(i.status), i.acknowledged_by ? ` (acknowledged by ${i.acknowledged_by})` : ""),
        h("dt", {}, "Model"), h("dd", {}, h("a", {href: link(`/models/${enc(i.model)}`)}, i.model)),
        h("dt", {}, "Owner"), h("dd", {}, [i.owner, i.team].filter(Boolean).join(", ") || "–"),
        h("dt", {}, "Opened"), h("dd", {}, timeEl(i.opened_at), i.first_bad_at ? [" (first bad window ", timeEl(i.first_bad_at), ")"] : ""),
        h("dt", {}, "Time to detect"), h("dd", {}, duration(i.time_to_detect_s)),
        i.resolved_at ? [h("dt", {}, "Resolved"), h("dd", {}, timeEl(i.resolved_at), ` after ${duration(i.time_to_resolve_s)}`)] : null),
      actions(i, draw),
      rec ? h("section", {"aria-labelledby": "rec-h", class: "panel"}, h("h2", {id: "rec-h"}, "What to do"),
        h("p", {}, rec.summary), rec.actions?.length ? h("ul", {}, rec.actions.map((a) => h("li", {}, a))) : null) : null,
      h("section", {"aria-labelledby": "causes-h", class: "panel"}, h("h2", {id: "causes-h"}, "Likely causes, most likely first"), causesList(i, "causes")),
      h("section", {"aria-labelledby": "runbooks-h", class: "panel"}, h("h2", {id: "runbooks-h"}, "Runbooks"), runbookLinks(i)),
      h("section", {"aria-labelledby": "alerts-h", class: "panel"}, h("h2", {id: "alerts-h"}, "Alerts"), alertsTable(i)),
      h("section", {"aria-labelledby": "timeline-h", class: "panel"}, h("h2", {id: "timeline-h"}, "Timeline"), timelineList(i, "timeline")),
      i.postmortem ? h("section", {"aria-labelledby": "pm-h", class: "panel"}, h("h2", {id: "pm-h"}, "Post-mortem draft"), h("pre", {class: "postmortem"}, i.postmortem)) : null]);
  };
  draw(inc);
  root.append(article);
}

function alertsTable(inc) {
  return h("div", {class: "table-scroll"}, h("table", {class: "grid"},
    h("thead", {}, h("tr", {}, ["Alert", "Severity", "Role", "Status", "Version", "Since", "Summary"].map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, (inc.alerts || []).map((a) => h("tr", {},
      h("th", {scope: "row"}, a.name, a.labels?.column ? ` (${a.labels.column})` : ""), h("td", {}, severityBadge(a.severity)),
      h("td", {}, a.role || "–"), h("td", {}, a.status), h("td", {}, a.model_version || "–"), h("td", {}, timeEl(a.starts_at)),
      h("td", {}, a.summary || ""))))));
}

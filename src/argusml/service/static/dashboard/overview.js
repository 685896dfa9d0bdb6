// The overview: every model's health, open incidents by tier, SLO budget left, last event age and label
// coverage. One API call per page of models (the API filters, sorts and pages), never one call per model.

import {ApiError, get} from "./api.js";
import {clear, h, healthBadge, pct, duration, when, timeEl, num} from "./dom.js";
import {link, navigate, params, setCrumbs} from "./state.js";

export const PAGE_SIZES = [25, 50, 100, 200, 500];
const SORTS = {
  name: "Model", health: "Health", incidents: "Open incidents", slo_budget_left: "SLO budget left",
  last_event: "Last event", label_coverage: "Label coverage",
};

function state() {
  const p = params();
  const per = Number(p.get("per"));
  return {
    q: p.get("q") || "", team: p.get("team") || "", owner: p.get("owner") || "", health: p.get("health") || "",
    sort: p.get("sort") || "name", page: Math.max(1, Number.parseInt(p.get("page") || "1", 10) || 1),
    per: PAGE_SIZES.includes(per) ? per : 50,
  };
}

export async function render(root, _args, view) {
  const st = state();
  document.title = "Models · Argus";
  setCrumbs([["Models", "/"]]);
  const answer = await get("/v1/models", {
    limit: st.per, offset: (st.page - 1) * st.per, q: st.q, team: st.team, owner: st.owner, health: st.health,
    sort: st.sort === "name" ? "" : st.sort,
  });
  const models = answer.models || [];
  const total = answer.total ?? models.length;
  // exec: what is being done, from the open incidents (one call for the page, not one per model)
  let incidents = new Map();
  if (view === "exec" && models.some((m) => m.health?.state && m.health.state !== "ok")) {
    const list = await get("/v1/incidents", {limit: 1000}).catch((e) => {
      if (e instanceof ApiError && e.status === 403) return [];  // a token limited to models: health's why stands
      throw e;
    });
    for (const inc of list) if (inc.status !== "resolved" && !incidents.has(inc.model)) incidents.set(inc.model, inc);
  }
  root.append(h("h1", {}, "Models"),
    summary(models, total, st),
    filters(answer, models, st),
    h("div", {class: "table-scroll"}, modelTable(models, st, view, incidents)),
    pager(total, st));
}

function summary(models, total, st) {
  const counts = {incident: 0, warning: 0, ok: 0};
  for (const m of models) if (m.health?.state in counts) counts[m.health.state]++;
  const filtered = st.q || st.team || st.owner || st.health;
  return h("p", {class: "summary"},
    `${total} model${total === 1 ? "" : "s"}${filtered ? " match the filters" : ""}. On this page: `,
    healthBadge("incident", `${counts.incident}`), " ", healthBadge("warning", `${counts.warning}`), " ",
    healthBadge("ok", `${counts.ok}`));
}

function options(values, selected, anyLabel) {
  const set = [...new Set([...values.filter(Boolean), ...(selected ? [selected] : [])])].sort();
  return [h("option", {value: ""}, anyLabel), ...set.map((v) => h("option", {value: v, selected: v === selected}, v))];
}

let form = null;
/* The filter form outlives the overview's redraws: the same input keeps what is typed while the next page of
   models loads (a new one would drop those keys), and keeps its focus and caret. */

function filters(answer, models, st) {
  form ??= buildFilters();
  const q = form.querySelector("#filter-q");
  if (document.activeElement !== q && q.value !== st.q) q.value = st.q;
  // the API's facet lists when it gives them; else the values on this page (plus what is selected)
  fill(form.querySelector("#filter-team"), options(answer.teams || models.map((m) => m.team), st.team, "any team"));
  fill(form.querySelector("#filter-owner"), options(answer.owners || models.map((m) => m.owner), st.owner, "any owner"));
  fill(form.querySelector("#filter-health"), [h("option", {value: ""}, "any health"),
    ...["incident", "warning", "ok"].map((v) => h("option", {value: v, selected: v === st.health}, v))]);
  const reset = form.querySelector(".reset");
  reset.hidden = !(st.q || st.team || st.owner || st.health);
  reset.querySelector("a").setAttribute("href", link("/"));
  return form;
}

function fill(select, opts) {
  const same = select.options.length === opts.length && opts.every((op, i) => select.options[i].value === op.value);
  if (!same) clear(select).append(...opts);  // the same choices keep their elements (and a menu that is open)
  const chosen = opts.find((o) => o.selected);
  select.value = chosen ? chosen.value : "";
}

function buildFilters() {
  let typing = null;
  const q = h("input", {id: "filter-q", type: "search", placeholder: "part of a name", autocomplete: "off",
    oninput: (ev) => {
      clearTimeout(typing);
      const value = ev.target.value;
      typing = setTimeout(() => navigate({q: value, page: null}, {replace: true}), 250);
    },
    onkeydown: (ev) => {
      if (ev.key === "Enter") {
        clearTimeout(typing);
        navigate({q: ev.target.value, page: null});
      }
    },
    // emptied by its clear button or by a script, or left after an edit: apply what it holds now
    onsearch: (ev) => { clearTimeout(typing); navigate({q: ev.target.value, page: null}); },
    onchange: (ev) => { clearTimeout(typing); navigate({q: ev.target.value, page: null}); }});
  const select = (id, key) => h("select", {id, onchange: (ev) => navigate({[key]: ev.target.value, page: null})});
  return h("form", {class: "filters", role: "search", "aria-label": "Filter models", onsubmit: (ev) => ev.preventDefault()},
    h("div", {}, h("label", {for: "filter-q"}, "Name"), q),
    h("div", {}, h("label", {for: "filter-team"}, "Team"), select("filter-team", "team")),
    h("div", {}, h("label", {for: "filter-owner"}, "Owner"), select("filter-owner", "owner")),
    h("div", {}, h("label", {for: "filter-health"}, "Health"), select("filter-health", "health")),
    h("div", {class: "reset"}, h("a", {href: "/"}, "Clear filters")));
}

function sortHeader(key, st, numeric) {
  const desc = st.sort === `-${key}`;
  const active = st.sort === key || desc;
  const next = active && !desc ? `-${key}` : key;
  return h("th", {scope: "col", class: numeric ? "num" : null, "aria-sort": active ? (desc ? "descending" : "ascending") : null},
    h("button", {type: "button", class: "sort", dataset: {sort: key},
      onclick: () => navigate({sort: next === "name" ? null : next, page: null})},
    SORTS[key], h("span", {class: "sort-mark", "aria-hidden": "true"}, active ? (desc ? " ▼" : " ▲") : " ↕")));
}

function plain(label, numeric) {
  return h("th", {scope: "col", class: numeric ? "num" : null}, label);
}

function incidentsCell(m) {
  const inc = m.incidents || {};
  const parts = ["P0", "P1", "P2"].filter((k) => inc[k]).map((k) => h("span", {class: `sev sev-${k.toLowerCase()}`}, `${k}: ${inc[k]}`));
  return parts.length ? parts : h("span", {class: "muted"}, "none");
}

function healthCell(m) {
  const hl = m.health || {};
  return h("td", {},
    healthBadge(hl.state),
    hl.since ? h("span", {class: "since"}, " since ", timeEl(hl.since)) : null,
    hl.why && hl.state !== "ok" ? h("div", {class: "why"}, hl.why) : null);
}

function lastEvent(m) {
  if (m.last_event_age_s !== null && m.last_event_age_s !== undefined) return `${duration(m.last_event_age_s)} ago`;
  return m.last_event_at ? when(m.last_event_at) : "never";
}

function nameCell(m, withDescription) {
  return h("th", {scope: "row"}, h("a", {href: link(`/models/${encodeURIComponent(m.model)}`)}, m.model),
    withDescription && m.description ? h("div", {class: "why"}, m.description) : null);
}

function modelTable(models, st, view, incidents) {
  let head;
  let cells;
  if (view === "exec") {
    head = [sortHeader("name", st), sortHeader("health", st), plain("Since"), plain("What is being done")];
    cells = (m) => {
      const hl = m.health || {};
      const fine = hl.state === "ok";
      const inc = incidents.get(m.model);
      let doing = fine ? "Nothing needed." : (hl.why || "Being looked at.");
      if (inc) {
        const rec = inc.recommendation?.summary || inc.title;
        doing = `${inc.acknowledged_by ? `${inc.acknowledged_by} is on it` : "Nobody has acknowledged it yet"}. ${rec}`;
      }
      return [nameCell(m, true),
        h("td", {}, healthBadge(hl.state, fine ? "(fine)" : "(not fine)")),
        h("td", {}, hl.since ? [timeEl(hl.since), ` (${duration(Date.now() / 1000 - Date.parse(hl.since) / 1000)})`] : "–"),
        h("td", {class: "doing"}, doing)];
    };
  } else if (view === "sre") {
    head = [sortHeader("name", st), sortHeader("health", st), sortHeader("incidents", st), sortHeader("slo_budget_left", st, true),
      sortHeader("last_event", st, true), plain("Events", true), plain("Team"), plain("Owner")];
    cells = (m) => [nameCell(m), healthCell(m), h("td", {}, incidentsCell(m)),
      h("td", {class: "num"}, m.slo_budget_left === null || m.slo_budget_left === undefined ? "no SLO" : pct(m.slo_budget_left)),
      h("td", {class: "num"}, lastEvent(m)), h("td", {class: "num"}, num(m.events_total ?? null)),
      h("td", {}, m.team || "–"), h("td", {}, m.owner || "–")];
  } else if (view === "business") {
    head = [sortHeader("name", st), sortHeader("health", st), sortHeader("label_coverage", st, true), plain("Owner")];
    cells = (m) => {
      const hl = m.health || {};
      return [nameCell(m, true),
        h("td", {}, healthBadge(hl.state), " ", hl.state === "ok" ? "Working as expected." : (hl.why || "")),
        h("td", {class: "num"}, m.label_coverage === null || m.label_coverage === undefined ? "no outcomes yet"
          : `${pct(m.label_coverage)} of predictions have a known outcome`),
        h("td", {}, [m.owner, m.team].filter(Boolean).join(", ") || "–")];
    };
  } else {
    head = [sortHeader("name", st), sortHeader("health", st), sortHeader("incidents", st), sortHeader("slo_budget_left", st, true),
      sortHeader("last_event", st, true), sortHeader("label_coverage", st, true), plain("Versions"), plain("Team"), plain("Owner")];
    cells = (m) => [nameCell(m), healthCell(m), h("td", {}, incidentsCell(m)),
      h("td", {class: "num"}, m.slo_budget_left === null || m.slo_budget_left === undefined ? "no SLO" : pct(m.slo_budget_left)),
      h("td", {class: "num"}, lastEvent(m)),
      h("td", {class: "num"}, m.label_coverage === null || m.label_coverage === undefined ? "–" : pct(m.label_coverage)),
      h("td", {}, (m.versions || []).join(", ") || "–"), h("td", {}, m.team || "–"), h("td", {}, m.owner || "–")];
  }
  const rows = models.map((m) => h("tr", {dataset: {model: m.model, health: m.health?.state || "unknown"}}, cells(m)));
  if (!rows.length) rows.push(h("tr", {}, h("td", {colspan: head.length}, "No model matches.")));
  return h("table", {id: "models", class: "grid"},
    h("caption", {class: "visually-hidden"}, "Models, one row each; the column buttons sort"),
    h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}

function pager(total, st) {
  const pages = Math.max(1, Math.ceil(total / st.per));
  const first = total ? (st.page - 1) * st.per + 1 : 0;
  const last = Math.min(total, st.page * st.per);
  return h("nav", {class: "pager", "aria-label": "Pages of models"},
    h("button", {type: "button", id: "page-prev", disabled: st.page <= 1,
      onclick: () => navigate({page: st.page - 1 > 1 ? st.page - 1 : null})}, "Previous page"),
    h("span", {}, `Models ${first}–${last} of ${total} (page ${st.page} of ${pages})`),
    h("button", {type: "button", id: "page-next", disabled: st.page >= pages,
      onclick: () => navigate({page: st.page + 1})}, "Next page"),
    h("label", {for: "page-size"}, "Per page"),
    h("select", {id: "page-size", onchange: (ev) => navigate({per: ev.target.value === "50" ? null : ev.target.value, page: null})},
      PAGE_SIZES.map((n) => h("option", {value: n, selected: n === st.per}, String(n)))));
}

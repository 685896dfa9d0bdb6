// A model's page: drill down by version and segment to the features. Which panels show depends on the view:
// ml (features, drift, quality, performance), sre (operations, SLOs, freshness), business (outcomes and the
// accuracy trend in words), exec (one line: fine or not, since when, what is being done). Incidents on all.

import {ApiError, enc, get, getOptional} from "./api.js";
import {timeChart} from "./charts.js";
import {append, clear, h, healthBadge, num, pct, ms, duration, timeEl, toEpoch, section, severityBadge, when} from "./dom.js";
import {link, navigate, params, setCrumbs, urlWith} from "./state.js";
import {actions, causesList, runbookLinks, statusBadge} from "./incident.js";

const HIGHER_IS_BETTER = new Set(["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2"]);
const PREFERRED = ["accuracy", "roc_auc", "f1", "mae", "rmse"];

export async function render(root, args, view) {
  const model = args.model;
  const p = params();
  const version = p.get("version") || "";
  const segment = p.get("segment") || "*";
  document.title = `${model} · Argus`;
  setCrumbs([["Models", link("/")], [model, null]]);
  const base = `/v1/models/${enc(model)}`;
  const seg = segment === "*" ? "" : segment;
  const [status, features, series, perf, slos, incidents] = await Promise.all([
    get(`${base}/status`),
    view === "ml" ? getOptional(`${base}/features`, {version, segment: seg}) : null,
    view === "ml" || view === "sre" ? getOptional(`${base}/timeseries`, {version, segment: seg}) : null,
    get(`${base}/performance`, {version, limit: 2000}),
    view === "sre" || view === "exec" || view === "business" ? getOptional(`${base}/slos`) : null,
    incidentsOrNull(model),
  ]);
  const perfRows = (perf.performance || []).filter((r) => r.granularity === undefined || r.granularity === status.window).slice().sort((a, b) => toEpoch(a.start) - toEpoch(b.start));
  const segments = [...new Set(["*", ...(status.segments || []), ...perfRows.map((r) => r.segment), ...(series?.checks || []).map((c) => c.segment)])];
  const health = status.health || derivedHealth(incidents || []);

  // exec: the one line below says it all; the drill-down is for the other views
  root.append(h("h1", {}, model, " ", healthBadge(health.state)));
  if (view !== "exec") root.append(headline(status, health, incidents), drill(model, status.versions || [], segments, version, segment));

  const open = (incidents || []).filter((i) => i.status !== "resolved");
  if (view === "exec") {
    root.append(execLine(model, health, status, open));
  } else if (view === "business") {
    root.append(businessPanel(perfRows, version, segment, status));
  } else if (view === "sre") {
    root.append(opsPanel(series, status, version), sloPanel(slos, status, perfRows));
  } else {
    root.append(featuresPanel(model, features, version, segment), driftPanel(series, segment),
      qualityPanel(series, segment), performancePanel(perfRows, version, segment), opsSummary(series, version));
  }
  root.append(incidentsPanel(incidents));
}

/** The model's incidents; null when the token may not read them (incidents are service-wide routes, which a
 * token limited to some models cannot reach): the page still draws, and says so. */
async function incidentsOrNull(model) {
  try {
    return await get("/v1/incidents", {model, limit: 50});
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return null;
    throw e;
  }
}

function derivedHealth(incidents) {
  const open = incidents.filter((i) => i.status !== "resolved");
  if (open.length) return {state: "incident", since: open[open.length - 1].opened_at, why: open[0].title};
  return {state: "unknown", since: null, why: ""};
}

function headline(status, health, incidents) {
  const adv = status.advice;
  return h("div", {class: "headline"},
    h("p", {}, healthBadge(health.state), health.since ? [" since ", timeEl(health.since)] : "", health.why ? ` — ${health.why}` : ""),
    adv?.summary ? h("p", {class: "advice"}, h("strong", {}, "Recommendation: "), adv.summary) : null,
    h("p", {class: "muted"}, `${num(status.events_total)} events, ${num(status.labels_joined)} labels joined; last event `,
      status.last_event_timestamp ? [timeEl(status.last_event_timestamp), ` (${duration(Date.now() / 1000 - toEpoch(status.last_event_timestamp))} ago)`] : "never",
      incidents ? `; ${incidents.filter((i) => i.status !== "resolved").length} open incident(s).` : "."));
}

function drill(model, versions, segments, version, segment) {
  return h("form", {class: "filters", "aria-label": "Version and segment", onsubmit: (ev) => ev.preventDefault()},
    h("div", {}, h("label", {for: "version"}, "Version"),
      h("select", {id: "version", onchange: (ev) => navigate({version: ev.target.value})},
        h("option", {value: ""}, "newest window's version"),
        versions.map((v) => h("option", {value: v, selected: v === version}, v)))),
    h("div", {}, h("label", {for: "segment"}, "Segment"),
      h("select", {id: "segment", onchange: (ev) => navigate({segment: ev.target.value === "*" ? null : ev.target.value})},
        segments.map((s) => h("option", {value: s, selected: s === segment}, s === "*" ? "all traffic (*)" : s)))));
}

// --- ml ------------------------------------------------------------------------------------------------

function featuresPanel(model, answer, version, segment) {
  if (!answer) return section("features", "Features", h("p", {class: "empty"}, "This server does not list features per window."));
  const w = answer.window;
  const rows = (answer.features || []).map((f) => {
    const d = f.drift;
    const drifted = Boolean(d?.drifted);
    return h("tr", {dataset: {feature: f.name, drifted: String(drifted)}},
      h("th", {scope: "row"}, h("a", {href: link(`/models/${enc(model)}/features/${enc(f.name)}`,
        {version: answer.version || version, segment: segment === "*" ? "" : segment})}, f.name)),
      h("td", {}, f.kind || "–", f.role && f.role !== "feature" ? ` (${f.role})` : ""),
      h("td", {}, drifted ? h("span", {class: "flag flag-bad"}, h("span", {"aria-hidden": "true"}, "▲ "), "drifted")
        : h("span", {class: "flag"}, d ? (d.status === "insufficient_data" ? "too few rows" : "no drift") : "not tested")),
      h("td", {}, d?.method || "–"),
      h("td", {class: "num"}, d?.p_adjusted === null || d?.p_adjusted === undefined ? "–" : d.p_adjusted.toExponential(2)),
      h("td", {class: "num"}, d?.value === null || d?.value === undefined ? "–" : `${d.effect || ""} ${num(d.value)}`),
      h("td", {class: "num"}, `${pct(f.missing_ratio, 1)} (ref ${pct(f.reference_missing_ratio, 1)})`),
      h("td", {}, (f.findings || []).length ? h("ul", {class: "findings"}, f.findings.map((x) => h("li", {}, severityBadge(x.severity), " ", x.message))) : "–"));
  });
  return section("features", "Features, most drifted first",
    h("p", {class: "muted"}, w ? ["Window ", timeEl(w.start), " to ", timeEl(w.end), `, version ${answer.version}, segment ${answer.segment}.`]
      : "No closed window for this version and segment yet."),
    h("div", {class: "table-scroll"}, h("table", {id: "features", class: "grid"},
      h("caption", {class: "visually-hidden"}, "Features of the newest closed window, drifted first"),
      h("thead", {}, h("tr", {}, ["Feature", "Kind", "Drift", "Test", "p (adjusted)", "Effect", "Missing", "Findings"]
        .map((c, i) => h("th", {scope: "col", class: i >= 4 && i <= 6 ? "num" : null}, c)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", {colspan: 8}, "No features."))))));
}

function checksOf(series, segment) {
  return (series?.checks || []).filter((c) => c.segment === segment);
}

/** Rows per version aligned on the union of their window starts: {x, byVersion: {v: [row|null]}}. */
function byVersion(rows, key = (r) => toEpoch(r.start)) {
  const xs = [...new Set(rows.map(key))].sort((a, b) => a - b);
  const pos = new Map(xs.map((x, i) => [x, i]));
  const out = {};
  for (const r of rows) {
    out[r.version] ??= new Array(xs.length).fill(null);
    out[r.version][pos.get(key(r))] = r;
  }
  return {x: xs, byVersion: out};
}

function driftPanel(series, segment) {
  if (!series) return section("drift", "Drift over time", h("p", {class: "empty"}, "This server has no time series endpoint."));
  const checks = checksOf(series, segment);
  const {x, byVersion: bv} = byVersion(checks);
  const versions = Object.keys(bv).sort();
  const drifted = checks.filter((c) => c.n_drifted > 0);
  const latest = checks[checks.length - 1];
  const caption = checks.length
    ? `Features drifted per closed window, segment ${segment}, ${versions.length} version(s). ${drifted.length} of ${checks.length} windows had drift` +
      (latest ? `; the newest (${when(latest.start)}) ${latest.n_drifted ? `drifted on ${(latest.drifted_columns || []).join(", ")}` : "had none"}.` : ".")
    : "No closed windows in the last 7 days.";
  return section("drift", "Drift over time",
    timeChart({id: "chart-drift", title: "features drifted", caption, x,
      series: versions.map((v) => ({label: `${v}: features drifted`, values: bv[v].map((r) => r ? r.n_drifted : null)})),
      format: (v) => num(v, 2), yLabel: "features"}));
}

function qualityPanel(series, segment) {
  if (!series) return section("quality", "Data quality over time", h("p", {class: "empty"}, "This server has no time series endpoint."));
  const checks = checksOf(series, segment);
  const {x, byVersion: bv} = byVersion(checks);
  const versions = Object.keys(bv).sort();
  const worst = checks.reduce((m, c) => Math.max(m, c.max_missing_ratio ?? 0), 0);
  const findings = (r) => r ? Object.values(r.findings_by_severity || {}).reduce((a, b) => a + b, 0) : null;
  return section("quality", "Data quality over time",
    timeChart({id: "chart-missing", title: "largest missing share", x,
      caption: `The largest share of missing values in any column per window; at most ${pct(worst, 1)} over the period.`,
      series: versions.map((v) => ({label: `${v}: max missing`, values: bv[v].map((r) => r ? r.max_missing_ratio : null)})),
      format: (v) => pct(v, 1), yLabel: "missing", share: true}),
    timeChart({id: "chart-findings", title: "findings", x,
      caption: `Findings (quality and drift, every severity) per window: ${checks.reduce((a, c) => a + (findings(c) || 0), 0)} in all.`,
      series: versions.map((v) => ({label: `${v}: findings`, values: bv[v].map(findings)})),
      format: (v) => num(v, 2), yLabel: "findings"}));
}

function primaryMetric(rows, wanted) {
  const names = new Set();
  for (const r of rows) {
    Object.keys(r.metrics || {}).forEach((k) => names.add(k));
    Object.keys(r.estimated?.metrics || {}).forEach((k) => names.add(k));
  }
  const all = [...names].sort();
  const metric = wanted && names.has(wanted) ? wanted : PREFERRED.find((m) => names.has(m)) || all[0];
  return {metric, all};
}

function performanceChart(rows, version, segment, metric, id, plainWords) {
  const sel = rows.filter((r) => r.segment === segment && (!version || r.version === version));
  const {x, byVersion: bv} = byVersion(sel);
  const series = [];
  for (const v of Object.keys(bv).sort()) {
    const real = bv[v].map((r) => r?.metrics?.[metric] ?? null);
    const est = bv[v].map((r) => r?.estimated?.metrics?.[metric] ?? null);
    if (real.some(Boolean)) {
      series.push({label: `${v} realised`, values: real.map((m) => m?.value ?? null),
        band: {low: real.map((m) => m?.low ?? null), high: real.map((m) => m?.high ?? null)}, dash: []});
    }
    if (est.some(Boolean)) {
      series.push({label: `${v} estimated`, values: est.map((m) => m?.value ?? null),
        band: {low: est.map((m) => m?.low ?? null), high: est.map((m) => m?.high ?? null)}, dash: [6, 4]});
    }
  }
  const isShare = !["mae", "rmse", "log_loss", "mape"].includes(metric);
  const fmt = (v) => (isShare && metric !== "log_loss" ? pct(v, 1) : num(v));
  const newest = sel.filter((r) => r.metrics?.[metric]).pop();
  let caption;
  if (plainWords) {
    const said = [];
    for (const v of Object.keys(bv).sort()) {
      const real = sel.filter((r) => r.version === v && r.metrics?.[metric]).pop();
      const guess = sel.filter((r) => r.version === v && r.estimated?.metrics?.[metric]).pop();
      if (real) said.push(`Version ${v}: ${metric.replace("_", " ")} ${fmt(real.metrics[metric].value)} in its newest window with known outcomes (${when(real.start)}; likely between ${fmt(real.metrics[metric].low)} and ${fmt(real.metrics[metric].high)}).`);
      if (guess) said.push(`Version ${v}, estimated from its predictions alone: ${fmt(guess.estimated.metrics[metric].value)}.`);
    }
    caption = said.length ? said.join(" ") : "No outcomes known yet: no measured accuracy.";
  } else {
    caption = `${metric} per window with its 95% interval (shaded), segment ${segment}: realised from labels (solid) and estimated without labels (dashed).`;
    if (newest) caption += ` Newest realised: ${fmt(newest.metrics[metric].value)} (${fmt(newest.metrics[metric].low)} to ${fmt(newest.metrics[metric].high)}, ${newest.labels} labels, ${newest.version}).`;
  }
  return timeChart({id, title: metric, caption, x, series, format: fmt, yLabel: metric});
}

function performancePanel(rows, version, segment) {
  const {metric, all} = primaryMetric(rows, params().get("metric"));
  if (!metric) return section("performance", "Performance over time", h("p", {class: "empty"}, "No performance windows yet: no labels have arrived, and no predictions to estimate from."));
  return section("performance", "Performance over time",
    h("form", {class: "filters", onsubmit: (ev) => ev.preventDefault()},
      h("div", {}, h("label", {for: "metric"}, "Metric"),
        h("select", {id: "metric", onchange: (ev) => navigate({metric: ev.target.value})},
          all.map((m) => h("option", {value: m, selected: m === metric}, m))))),
    performanceChart(rows, version, segment, metric, "chart-performance", false));
}

// --- sre -----------------------------------------------------------------------------------------------

function opsPanel(series, status, version) {
  const ops = (series?.ops || []).filter((o) => !version || o.version === version);
  const {x, byVersion: bv} = byVersion(ops);
  const versions = Object.keys(bv).sort();
  const col = (key) => versions.map((v) => ({label: `${v} ${key.replace("latency_", "").replace("_ms", "")}`, values: bv[v].map((r) => r ? r[key] : null)}));
  const total = ops.reduce((a, o) => a + (o.requests || 0), 0);
  const errs = ops.reduce((a, o) => a + (o.errors || 0), 0);
  const latest = ops[ops.length - 1];
  const resources = [];
  for (const [v, o] of Object.entries(status.operations || {})) {
    for (const [k, val] of Object.entries(o.last_window || {})) if (k.startsWith("resource.")) resources.push([v, k.slice(9), val]);
  }
  const fallback = Object.entries(status.operations || {}).map(([v, o]) => [v, o.fallback_events, o.last_window?.fallback_ratio]);
  return section("ops", "Operations",
    series ? [
      timeChart({id: "chart-requests", title: "requests and errors", x,
        caption: `Requests and failed requests per ${duration(series.step)}: ${num(total)} requests, ${num(errs)} errors (${pct(total ? errs / total : null, 2)}) in the last 7 days.`,
        series: [...col("requests"), ...col("errors")], format: (v) => num(v), yLabel: "requests"}),
      timeChart({id: "chart-latency", title: "latency", x,
        caption: latest ? `Latency percentiles per ${duration(series.step)}. Newest: p50 ${ms(latest.latency_p50_ms)}, p90 ${ms(latest.latency_p90_ms)}, p99 ${ms(latest.latency_p99_ms)}.` : "No requests in the last 7 days.",
        series: [...col("latency_p50_ms"), ...col("latency_p90_ms"), ...col("latency_p99_ms")], format: (v) => ms(v), yLabel: "ms"}),
    ] : h("p", {class: "empty"}, "This server has no time series endpoint."),
    h("h3", {}, "Saturation: resources in the last closed window"),
    resources.length ? h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["Version", "Resource", "Mean"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, resources.map(([v, k, val]) => h("tr", {}, h("td", {}, v), h("th", {scope: "row"}, k), h("td", {class: "num"}, k === "memory_mb" ? `${num(val)} MB` : pct(val, 1))))))
      : h("p", {class: "muted"}, "No resource reports (POST /v1/models/{model}/resources, or resources on events)."),
    h("h3", {}, "Fallback"),
    h("ul", {}, fallback.map(([v, n, r]) => h("li", {}, `${v}: ${num(n)} answers from the fallback in all; ${pct(r ?? null, 1)} in the last window.`))));
}

/** The ml view's look at serving: the newest window's requests, errors and latency, in one table (the sre
 * view has the charts). A model that stopped serving well is an ML engineer's problem too. */
function opsSummary(series, version) {
  const ops = (series?.ops || []).filter((o) => !version || o.version === version);
  const newest = new Map();
  for (const o of ops) newest.set(o.version, o);
  const rows = [...newest.values()];
  return section("ops", "Serving, newest window",
    rows.length ? h("table", {class: "grid"},
      h("thead", {}, h("tr", {}, ["Version", "Window", "Requests", "Errors", "p50", "p90", "p99"].map((c, i) => h("th", {scope: "col", class: i > 1 ? "num" : null}, c)))),
      h("tbody", {}, rows.map((o) => h("tr", {}, h("th", {scope: "row"}, o.version), h("td", {}, timeEl(o.start)),
        h("td", {class: "num"}, num(o.requests)), h("td", {class: "num"}, `${num(o.errors)} (${pct(o.error_rate, 1)})`),
        h("td", {class: "num"}, ms(o.latency_p50_ms)), h("td", {class: "num"}, ms(o.latency_p90_ms)), h("td", {class: "num"}, ms(o.latency_p99_ms))))))
      : h("p", {class: "muted"}, "No requests in the last 7 days."),
    h("p", {}, h("a", {href: urlWith({view: "sre"})}, "Latency, errors and saturation over time (SRE view)")));
}

function sloPanel(slos, status, perfRows) {
  const entries = Object.entries(slos || {});
  const age = status.last_event_timestamp ? Date.now() / 1000 - toEpoch(status.last_event_timestamp) : null;
  const lag = perfRows.filter((r) => r.segment === "*" && r.lag_p50 !== null && r.lag_p50 !== undefined).pop();
  return section("freshness", "SLOs and freshness",
    h("p", {}, "Last event: ", status.last_event_timestamp ? [timeEl(status.last_event_timestamp), ` (${duration(age)} ago)`] : "never",
      lag ? `. Labels arrive ${duration(lag.lag_p50)} after the prediction (median; 90% within ${duration(lag.lag_p90)}).` : ". No label lag measured yet."),
    entries.length ? h("table", {class: "grid", id: "slos"},
      h("thead", {}, h("tr", {}, ["SLO", "Objective", "Error budget left", "Burn rates", "Alert"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, entries.map(([name, o]) => h("tr", {},
        h("th", {scope: "row"}, name), h("td", {class: "num"}, pct(o.objective, 2)),
        h("td", {class: "num"}, o.budget_remaining === null || o.budget_remaining === undefined ? "–" : h("span", {class: o.budget_remaining < 0.25 ? "flag flag-bad" : "flag"},
          o.budget_remaining < 0.25 ? h("span", {"aria-hidden": "true"}, "▲ ") : null, pct(o.budget_remaining, 1))),
        h("td", {}, Object.entries(o.burn_rates || {}).map(([w, b]) => `${w}: ${b === null ? "–" : num(b, 2)}`).join(", ")),
        h("td", {}, o.alert ? `${o.alert.status} (${o.alert.severity})` : "none")))))
      : h("p", {class: "muted"}, "No SLOs configured (slos: in the model's YAML)."));
}

// --- business and exec ---------------------------------------------------------------------------------

function businessPanel(rows, version, segment, status) {
  const {metric} = primaryMetric(rows, params().get("metric"));
  const outcomes = rows.filter((r) => r.segment === segment && r.outcomes && Object.keys(r.outcomes).length);
  const latestOut = outcomes[outcomes.length - 1];
  const coverage = rows.filter((r) => r.segment === segment && r.label_coverage !== null && r.label_coverage !== undefined).pop();
  return section("performance", "How the model is doing",
    coverage ? h("p", {}, `Outcomes are known for ${pct(coverage.label_coverage)} of the predictions in the newest window (${when(coverage.start)}).`) : null,
    metric ? performanceChart(rows, version, segment, metric, "chart-accuracy", true) : h("p", {}, "No outcomes known yet, so no accuracy can be shown."),
    latestOut ? h("div", {}, h("h3", {}, "Business outcomes in the newest window"),
      h("ul", {}, Object.entries(latestOut.outcomes).map(([k, v]) => h("li", {}, `${k}: ${typeof v === "object" ? JSON.stringify(v) : num(v)}`))))
      : h("p", {class: "muted"}, "No business outcomes (conversions, revenue) are sent for this model."));
}

function execLine(model, health, status, open) {
  const fine = health.state === "ok";
  const inc = open[0];
  let doing = status.advice?.summary || (fine ? "Nothing needed." : "Being looked at.");
  if (inc) doing = `${inc.acknowledged_by ? `${inc.acknowledged_by} is on it` : "Nobody has acknowledged the incident yet"}. ${inc.recommendation?.summary || doing}`;
  return section("summary", "In one line",
    h("p", {class: "exec-line"}, h("strong", {}, model), ": ", healthBadge(health.state, fine ? "(fine)" : "(not fine)"),
      health.since ? [" since ", timeEl(health.since), ` (${duration(Date.now() / 1000 - toEpoch(health.since))})`] : "",
      ". ", h("span", {class: "doing"}, doing)));
}

// --- incidents -----------------------------------------------------------------------------------------

function incidentsPanel(incidents) {
  const sec = h("section", {id: "incidents", dataset: {panel: "incidents"}, "aria-labelledby": "panel-incidents", class: "panel"},
    h("h2", {id: "panel-incidents"}, "Incidents"));
  if (!incidents) {
    sec.append(h("p", {class: "muted"}, "This token may not read incidents: they are service-wide, and it is limited to some models."));
    return sec;
  }
  if (!incidents.length) {
    sec.append(h("p", {class: "muted"}, "No incidents."));
    return sec;
  }
  const list = h("ul", {class: "incidents"});
  for (const inc of incidents) {
    const item = h("li", {class: "incident"});
    const draw = (i) => {
      clear(item);
      append(item, [
        h("p", {}, severityBadge(i.severity), " ", statusBadge(i.status), " ", h("a", {href: link(`/incidents/${enc(i.id)}`)}, i.title),
          " — opened ", timeEl(i.opened_at)),
        i.status !== "resolved" ? [
          i.recommendation?.summary ? h("p", {class: "advice"}, i.recommendation.summary) : null,
          h("details", {}, h("summary", {}, "Likely causes and runbooks"), causesList(i), runbookLinks(i)),
          actions(i, draw)] : null]);
    };
    draw(inc);
    list.append(item);
  }
  sec.append(list);
  return sec;
}

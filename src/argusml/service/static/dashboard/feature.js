// A feature of a model: its reference against its current distribution in one window, and its drift history.

import {enc, get} from "./api.js";
import {describeDistribution, distributionFigure, timeChart} from "./charts.js";
import {append, h, num, pct, timeEl, toEpoch, section, severityBadge} from "./dom.js";
import {link, params, setCrumbs} from "./state.js";

export async function render(root, args) {
  const {model, feature} = args;
  const p = params();
  const query = {version: p.get("version") || "", segment: p.get("segment") || "", window_start: p.get("window_start") || ""};
  document.title = `${feature} · ${model} · Argus`;
  const back = {version: query.version, segment: query.segment};
  setCrumbs([["Models", link("/")], [model, link(`/models/${enc(model)}`, back)], [feature, null]]);
  const f = await get(`/v1/models/${enc(model)}/features/${enc(feature)}`, query);
  const w = f.window;
  const history = (f.history || []).slice().sort((a, b) => toEpoch(a.start) - toEpoch(b.start));
  const latest = history[history.length - 1];
  const drifted = history.filter((r) => r.drifted);
  const where = w ? ["window ", timeEl(w.start), " to ", timeEl(w.end)] : "no closed window";
  const caption = `Distribution of ${feature} (${f.kind}) in the reference (hatched) and in the ${w ? "window" : "newest data"} (solid), version ${f.version}, segment ${f.segment}. ${describeDistribution(f.distribution)}`;
  append(root, [
    h("h1", {}, feature, h("span", {class: "muted"}, ` of ${model}`)),
    h("p", {}, `${f.kind} feature; version ${f.version}, segment ${f.segment}; `, where, ".",
      latest ? [" Newest drift test: ", latest.drifted ? h("strong", {class: "flag flag-bad"}, h("span", {"aria-hidden": "true"}, "▲ "), "drifted") : "no drift",
        latest.method ? ` (${latest.method}, p adjusted ${latest.p_adjusted === null || latest.p_adjusted === undefined ? "–" : latest.p_adjusted.toExponential(2)})` : "", "."] : ""),
    section("distribution", "Reference against current", distributionFigure(f.distribution, caption, "distribution")),
    section("drift", "Drift history",
      timeChart({id: "chart-feature-drift", title: "drift effect", x: history.map((r) => toEpoch(r.start)),
        caption: `The drift test's effect size per window (${history[0]?.method || "the model's test"}); ${drifted.length} of ${history.length} windows drifted.`,
        series: [{label: "effect", values: history.map((r) => r.value ?? null)}], format: (v) => num(v), yLabel: "effect"}),
      timeChart({id: "chart-feature-missing", title: "missing share", x: history.map((r) => toEpoch(r.start)),
        caption: `Share of missing values per window; the newest ${pct(latest?.missing_ratio ?? null, 1)}.`,
        series: [{label: "missing", values: history.map((r) => r.missing_ratio ?? null)}], format: (v) => pct(v, 1), yLabel: "missing", share: true}),
      h("h3", {}, "Windows that drifted"),
      drifted.length ? h("ul", {}, drifted.slice(-20).reverse().map((r) => h("li", {},
        h("a", {href: link(location.pathname, {...back, window_start: r.start})}, timeEl(r.start)),
        ` ${r.method || ""} p adjusted ${r.p_adjusted === null || r.p_adjusted === undefined ? "–" : r.p_adjusted.toExponential(2)}, effect ${num(r.value)}`)))
        : h("p", {class: "muted"}, "None in this history.")),
    f.findings?.length ? section("quality", "Findings", h("ul", {}, f.findings.map((x) => h("li", {}, severityBadge(x.severity), " ", x.message)))) : null]);
}

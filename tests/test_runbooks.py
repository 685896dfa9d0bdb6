"""Runbooks and the post-mortem: every alert has a runbook with the sections an on-call engineer needs,
every command a runbook tells them to run exists with the options it is given, links follow the
override order, the post-mortem reads exactly as written here, and the HTTP and CLI doors answer."""

from __future__ import annotations

import re
import shlex
from importlib.resources import files

import pytest
import typer
from typer.testing import CliRunner

from argusml.alerts.postmortem import duration_words, postmortem
from argusml.alerts.runbooks import (
    CHECK_RUNBOOKS,
    ENGINE_RUNBOOKS,
    RULE_RUNBOOKS,
    RUNBOOKS,
    runbook_name,
    runbook_text,
    runbook_title,
    runbook_url,
)
from argusml.cli.main import app
from argusml.schema.severity import DEFAULT_SEVERITY

SECTIONS = ["What it means", "Is it a cause or a symptom", "How to confirm", "What to do", "When to silence it",
            "Related alerts"]

# the alert names the engine raises beside the checks' findings, and the generic runbooks of user rules
EXPECTED = [*DEFAULT_SEVERITY, "unexpected_version", "serving_errors", "slo_latency", "slo_error_rate",
            "slo_freshness", "slo_quality", "no_events", "stale_data", "label_lag", "notifier_failing",
            "dependency_down",
            "rule_threshold", "rule_baseline", "rule_seasonal", "rule_absence"]

def raw(name: str) -> str:
    return files("argusml.alerts").joinpath("runbooks", f"{name}.md").read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


# -- the list ----------------------------------------------------------------------------------------------
def test_every_alert_name_has_a_shipped_runbook_and_no_file_is_unlisted():
    assert sorted(RUNBOOKS) == sorted(EXPECTED)
    assert len(set(RUNBOOKS)) == len(RUNBOOKS)
    assert CHECK_RUNBOOKS == tuple(DEFAULT_SEVERITY)  # a new check without a runbook fails here
    assert set(ENGINE_RUNBOOKS) | set(RULE_RUNBOOKS) | set(CHECK_RUNBOOKS) == set(RUNBOOKS)
    shipped = sorted(p.name[:-3] for p in files("argusml.alerts").joinpath("runbooks").iterdir()
                     if p.name.endswith(".md"))
    assert shipped == sorted(RUNBOOKS)


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_has_the_sections_in_order_and_is_short(name):
    text = raw(name)
    lines = text.splitlines()
    assert 30 <= len(lines) <= 70, f"{name}: {len(lines)} lines"
    assert lines[0].startswith("# ") and len(lines[0]) > 10
    assert lines[2].startswith(f"`{name}` · "), f"{name}: the line under the title names the alert"
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    assert heads == SECTIONS, f"{name}: {heads}"
    s = sections(text)
    assert len(s["Is it a cause or a symptom"].splitlines()) == 1
    assert re.match(r"(A cause|A symptom|By its metric)", s["Is it a cause or a symptom"])
    for sec in ("How to confirm", "What to do"):
        steps = re.findall(r"^(\d+)\. ", s[sec], flags=re.M)
        assert steps == [str(i) for i in range(1, len(steps) + 1)] and len(steps) >= 2, f"{name}: {sec}"
    assert re.search(r"`argus |curl ", s["How to confirm"]), f"{name}: a command to confirm with"
    silence = s["When to silence it"]
    assert 'POST "$ARGUS_URL/v1/silences"' in silence and '"ends_at"' in silence and '"author"' in silence
    matchers = re.search(r'"matchers": (\{[^}]*\})', silence)
    assert matchers and '"model": "$MODEL"' in matchers.group(1) and '"alertname"' in matchers.group(1)
    if name not in RULE_RUNBOOKS:  # a rule's alert is named by the user: the examples use made-up names
        assert f'"alertname": "{name}"' in matchers.group(1)
    bullets = [line[2:].split(": ", 1)[0] for line in s["Related alerts"].splitlines() if line.startswith("- ")]
    related = [n for b in bullets for n in re.findall(r"`([a-z_0-9]+)`", b)]
    assert related and set(related) <= set(RUNBOOKS) - {name}, f"{name}: related {related}"


def _commands(text: str) -> list[str]:
    """Every `argus ...` a runbook quotes: inline code spans (which may wrap lines) and lines of fenced blocks."""
    fence = r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```"  # list items indent their fences
    fenced = re.findall(fence, text, flags=re.M | re.S)
    rest = re.sub(fence, "", text, flags=re.M | re.S)
    out = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", rest)]
    out += [line.strip() for block in fenced for line in block.splitlines()]
    cmds = []
    for piece in out:
        for part in re.split(r"\s*(?:\||;|&&)\s*", piece):
            if part.startswith("argus "):
                cmds.append(part)
    return cmds


def test_every_quoted_command_exists_with_the_options_it_is_given():
    root = typer.main.get_command(app)
    seen = 0
    for name in RUNBOOKS:
        for cmd in _commands(raw(name)):
            words = shlex.split(cmd)[1:]
            node, path = root, ["argus"]
            while hasattr(node, "commands") and words and not words[0].startswith("-"):
                assert words[0] in node.commands, f"{name}: `{cmd}`: no command {' '.join([*path, words[0]])}"
                path.append(words.pop(0))
                node = node.commands[path[-1]]
            assert not hasattr(node, "commands"), f"{name}: `{cmd}` names a group, not a command"
            opts = {o for p in node.params for o in (*p.opts, *p.secondary_opts)}
            for w in words:
                if w.startswith("-") and w != "-":
                    assert w.split("=")[0] in opts, f"{name}: `{cmd}`: {w} is not an option of it"
            seen += 1
    assert seen >= 60  # the runbooks lean on the CLI; a parser that found nothing would pass vacuously


def test_the_command_check_catches_a_wrong_option():
    root = typer.main.get_command(app)
    opts = {o for p in root.commands["advise"].params for o in p.opts}
    assert "--url" in opts and "--modle" not in opts
    assert _commands("run `argus advise --url $ARGUS_URL\n  --model $MODEL` then") == [
        "argus advise --url $ARGUS_URL --model $MODEL"]


# -- names, text, links ------------------------------------------------------------------------------------
def test_runbook_name_maps_checks_engine_alerts_and_user_rules():
    assert runbook_name("missing_column") == "missing_column"
    assert runbook_name("slo_latency", "slo") == "slo_latency"
    assert runbook_name("unexpected_version", "version") == "unexpected_version"
    assert runbook_name("approval_rate_low", "threshold") == "rule_threshold"
    assert runbook_name("events_stopped", "absence") == "rule_absence"
    assert runbook_name("no_events", "absence") == "no_events"  # a rule named after a known alert gets its runbook
    with pytest.raises(ValueError, match=r"no runbook for alert 'approval_rate_low': a user rule's alert needs its "
                                         r"rule type \(threshold, baseline, seasonal, absence\); runbooks: "
                                         r"missing_column, all_null"):
        runbook_name("approval_rate_low")
    with pytest.raises(ValueError, match="of rule type 'slo': rule types with a runbook are threshold"):
        runbook_name("slo_typo", "slo")


def test_runbook_text_refuses_unknown_names_and_fills_commands_in():
    with pytest.raises(ValueError, match=r"no runbook named '\.\./\.\./etc/passwd'; runbooks: missing_column, "):
        runbook_text("../../etc/passwd")
    plain = runbook_text("drift")
    assert "`argus advise --url $ARGUS_URL --model $MODEL`" in plain and "export both first" in plain
    filled = runbook_text("drift", model="credit", url="http://argus:8080/")
    assert "`argus advise --url http://argus:8080 --model credit`" in filled
    assert "$MODEL" not in filled and "$ARGUS_URL" not in filled and "$INCIDENT" in filled
    assert filled.splitlines()[:3] == ["# A feature drifted", "",
                                       "> Filled in for model `credit` and the service at http://argus:8080/. "
                                       "`$INCIDENT` is the incident id the notification carries (label "
                                       "`incident_id`). With tokens on, `argus` reads `$ARGUS_TOKEN`; give curl "
                                       "`-H \"Authorization: Bearer $ARGUS_TOKEN\"`."]
    assert "Commands below use `$MODEL` (the model's name): export it first." in runbook_text("drift", url="http://a")
    with pytest.raises(ValueError, match=r"model 'a b; rm -rf /' is not a model name"):
        runbook_text("drift", model="a b; rm -rf /")
    with pytest.raises(ValueError, match=r"url 'javascript:alert\(1\)' is not an http\(s\) URL"):
        runbook_text("drift", url="javascript:alert(1)")
    assert runbook_title("no_events") == "No events are arriving"


def test_runbook_url_precedence():
    base = {"model": "credit", "external_url": "http://argus:8080/"}
    over = {"drift": "https://wiki/drift", "rule_threshold": "https://wiki/thresholds"}
    # the model's entry for the alert wins over everything
    assert runbook_url("drift", overrides=over, rule_runbook="https://rule", **base) == "https://wiki/drift"
    # then the rule's own runbook
    assert runbook_url("approval_low", overrides=over, rule_runbook="https://rule", rule_type="threshold",
                       **base) == "https://rule"
    # then the model's entry for the shipped runbook's name (every threshold rule of the model)
    assert runbook_url("approval_low", overrides=over, rule_runbook=None, rule_type="threshold",
                       **base) == "https://wiki/thresholds"
    # then the one Argus ships, served with the model filled in
    assert runbook_url("approval_low", overrides={}, rule_runbook=None, rule_type="seasonal",
                       **base) == "http://argus:8080/v1/runbooks/rule_seasonal?model=credit"
    assert runbook_url("missing_column", overrides={}, rule_runbook=None, model="m.1",
                       external_url="https://x") == "https://x/v1/runbooks/missing_column?model=m.1"
    with pytest.raises(ValueError, match="no runbook for alert 'mystery'"):
        runbook_url("mystery", overrides={}, rule_runbook=None, **base)


# -- the post-mortem ---------------------------------------------------------------------------------------
INCIDENT = {
    "id": "inc-7f3a", "model": "credit", "status": "resolved", "severity": "P0",
    "opened_at": "2026-12-07T04:02:00Z", "acknowledged_at": "2026-12-07T04:09:30Z", "acknowledged_by": "alice",
    "resolved_at": "2026-12-07T05:17:00Z", "resolved_by": "alice",
    "title": "credit: missing_column income (+1 more)", "team": "risk", "owner": None,
    "alerts": [
        {"id": "al-2", "name": "performance_drop", "severity": "P1", "role": "symptom", "status": "resolved",
         "model_version": "v3", "labels": {"metric": "roc_auc"}, "summary": "roc_auc 0.71 [0.68, 0.74] vs 0.82",
         "starts_at": "2026-12-07T04:30:00Z", "ends_at": "2026-12-07T05:10:00Z", "fingerprint": "b" * 16},
        {"id": "al-1", "name": "missing_column", "severity": "P0", "role": "cause", "status": "resolved",
         "model_version": "v3", "labels": {"column": "income"}, "summary": "column 'income' is missing",
         "starts_at": "2026-12-07T04:00:00Z", "ends_at": "2026-12-07T05:00:00Z", "fingerprint": "a" * 16},
    ],
    "causes": [{"alert_id": "al-1", "rank": 1, "evidence": "moved first (04:00), 30 min before the drop"}],
    "timeline": [
        {"at": "2026-12-07T04:09:30Z", "event": "acknowledged", "detail": "by alice"},
        {"at": "2026-12-07T04:02:00Z", "event": "opened", "detail": "missing_column | income"},
        {"at": "2026-12-07T05:17:00Z", "event": "resolved", "detail": "by alice"},
    ],
    "time_to_detect_s": 120.0, "time_to_resolve_s": 4500.0,
}


def test_postmortem_exact_text():
    assert postmortem(INCIDENT).splitlines() == [
        "# Post-mortem: credit: missing_column income (+1 more)",
        "",
        "Incident `inc-7f3a` of model `credit` (team risk, owner none); status: resolved.",
        "",
        "## Summary",
        "",
        "- **Severity:** P0",
        "- **Opened:** 2026-12-07T04:02:00Z",
        "- **Acknowledged:** 2026-12-07T04:09:30Z by alice",
        "- **Resolved:** 2026-12-07T05:17:00Z by alice",
        "- **Duration:** 1 h 15 min",
        "- **Time to detect:** 2 min",
        "- **Time to resolve:** 1 h 15 min",
        "- **Alerts:** 2 (1 cause, 1 symptom)",
        "",
        "## Impact",
        "",
        "What the model's users saw (symptom alerts):",
        "",
        "- `performance_drop` (metric=roc_auc) — P1, version v3, from 2026-12-07T04:30:00Z to "
        "2026-12-07T05:10:00Z: roc_auc 0.71 [0.68, 0.74] vs 0.82",
        "",
        "## Root cause",
        "",
        "The likely causes, as Argus ranked them (confirm or correct):",
        "",
        "1. `missing_column` (column=income) — P0, version v3, from 2026-12-07T04:00:00Z to 2026-12-07T05:00:00Z: "
        "column 'income' is missing",
        "   Evidence: moved first (04:00), 30 min before the drop",
        "",
        "## Timeline (UTC)",
        "",
        "| time | event | detail |",
        "|---|---|---|",
        "| 2026-12-07T04:02:00Z | opened | missing_column \\| income |",
        "| 2026-12-07T04:09:30Z | acknowledged | by alice |",
        "| 2026-12-07T05:17:00Z | resolved | by alice |",
        "",
        "## What went well",
        "",
        "_Which alerts, runbooks, tools and people helped; what to keep._",
        "",
        "## What went wrong",
        "",
        "_Where detection, diagnosis or the fix was slow or noisy, and why (a missing alert, a misleading runbook, "
        "a page that went unheard)._",
        "",
        "## Action items",
        "",
        "| action | owner | due |",
        "|---|---|---|",
        "| _one line per action: prevent, detect sooner, fix faster_ | | |",
    ]


def test_postmortem_of_an_open_incident_without_symptoms_or_causes():
    inc = {**INCIDENT, "status": "open", "acknowledged_at": None, "acknowledged_by": None, "resolved_at": None,
           "resolved_by": None, "time_to_resolve_s": None, "causes": [], "team": None,
           "alerts": [{**INCIDENT["alerts"][1], "ends_at": None, "labels": {}, "model_version": None}]}
    lines = postmortem(inc).splitlines()
    assert "Incident `inc-7f3a` of model `credit` (team none, owner none); status: open." in lines
    assert "- **Acknowledged:** never" in lines
    assert "- **Resolved:** not yet (this draft will change)" in lines
    assert not any(line.startswith("- **Duration:**") for line in lines)
    assert "- **Time to resolve:** unknown" in lines
    assert lines[lines.index("## Impact") + 2].startswith("No symptom alert fired")
    assert lines[lines.index("## Root cause") + 2] == "Argus ranked no cause. Write down what the investigation found."


def test_duration_words():
    assert [duration_words(s) for s in (0, 59.4, 60, 3599, 3600, 86400, 90061, -5)] == [
        "0 s", "59 s", "1 min", "59 min 59 s", "1 h", "1 d", "1 d 1 h", "0 s"]


# -- the CLI and HTTP --------------------------------------------------------------------------------------
def test_cli_lists_and_prints_runbooks():
    runner = CliRunner()
    r = runner.invoke(app, ["runbook"])
    assert r.exit_code == 0
    listed = r.output.splitlines()
    assert [line.split()[0] for line in listed] == list(RUNBOOKS)
    assert listed[0].split(None, 1)[1] == runbook_title(RUNBOOKS[0])
    r = runner.invoke(app, ["runbook", "serving_errors", "--model", "credit", "--url", "http://argus:8080"])
    assert r.exit_code == 0 and r.output == runbook_text("serving_errors", model="credit", url="http://argus:8080")
    r = runner.invoke(app, ["runbook", "servng_errors"])
    assert r.exit_code == 2 and "argus: error: no runbook named 'servng_errors'; runbooks: missing_column" in r.output


@pytest.mark.service
def test_http_runbooks_list_and_text_without_a_token(running_monitor, ref):
    from argusml.schema.model_config import AuthConfig, ModelConfig, TokenEntry
    from argusml.service.auth import Authenticator, digest

    auth = Authenticator(AuthConfig(tokens=[TokenEntry(name="r", sha256=digest("secret"), scopes=["read"])]))
    client = running_monitor((ModelConfig(model="credit"), ref), auth=auth).client
    assert client.get("/v1/models").status_code == 401  # tokens are on ...
    r = client.get("/v1/runbooks")  # ... and the runbooks still open from a notification's link
    assert r.status_code == 200
    body = r.json()["runbooks"]
    assert [b["name"] for b in body] == list(RUNBOOKS)
    assert body[0] == {"name": "missing_column", "title": "A column the model reads is missing",
                       "url": "/v1/runbooks/missing_column"}
    r = client.get("/v1/runbooks/drift", params={"model": "credit"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/markdown; charset=utf-8"
    assert r.text == runbook_text("drift", model="credit", url="http://testserver")
    r = client.get("/v1/runbooks/drift", params={"model": "credit", "url": "https://argus.example.com"})
    assert "`argus advise --url https://argus.example.com --model credit`" in r.text
    r = client.get("/v1/runbooks/drfit")
    assert r.status_code == 404 and r.json()["error"] == "unknown_runbook"
    assert r.json()["detail"].startswith("no runbook named 'drfit'; runbooks: missing_column, all_null, ")
    r = client.get("/v1/runbooks/drift", params={"model": "<script>"})
    assert r.status_code == 422 and "is not a model name" in r.json()["detail"]
    doc = client.get("/openapi.json").json()
    assert doc["paths"]["/v1/runbooks/{name}"]["get"]["security"] == []
    assert doc["paths"]["/v1/models"]["get"].get("security") is None  # the document's default: a token

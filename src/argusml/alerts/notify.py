"""Telling people: a notice about an incident, shaped for its receiver and delivered once.

A *notice* is a plain, JSON-ready dict (it waits in the store's outbox until it
is sent): ``{"event": "opened" | "escalated" | "repeat" | "resolved",
"receiver": name, "incident": {...}}``, the incident as the HTTP API shows it,
with its alerts and ranked causes. A digest notice (``"event": "digest"``,
queued by the weekly owner report) carries its rendered e-mail instead
(``digest_message``). Everything here is a pure function of a notice except
``deliver``, which is the one place that talks to a webhook, Slack or an SMTP
server.

The webhook speaks Alertmanager's webhook format, version 4, field for field
(``notify/webhook`` and ``template.Data`` in prometheus/alertmanager), so any
tool that takes Alertmanager's webhooks takes Argus's: one incident is one
alert group, ``groupKey`` is the incident id.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import html
import os
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from argusml.schema.alerts import EmailReceiver, Receiver, SmtpServer

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` of an alert that is still firing (Go's zero ``time.Time``)."""

EVENTS = ("opened", "escalated", "repeat", "resolved")

_CONTRACT_LABELS = ("alertname", "model", "model_version", "severity", "incident_id")
_SLACK_TEXT_MAX = 3000  # Slack rejects a section whose text is longer
_SLACK_HEADER_MAX = 150


class DeliveryError(Exception):
    """A notice that did not reach its receiver. ``retryable``: whether trying again later may succeed
    (a timeout, a refused connection, a 5xx, 408 or 429) or not (any other 4xx, a bad address, a missing
    password). ``retry_after``: seconds the receiver asked us to wait (HTTP ``Retry-After``), if it did."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


# -- what a notice says ---------------------------------------------------------------------------


def _incident(notice: dict[str, Any]) -> dict[str, Any]:
    inc = notice.get("incident")
    if not isinstance(inc, dict) or "id" not in inc:
        raise ValueError(f"a notice needs an 'incident' object with an 'id' (got keys {sorted(notice)})")
    return inc


def _resolved(inc: dict[str, Any]) -> bool:
    return inc.get("status") == "resolved"


def _ranked(inc: dict[str, Any]) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]]]:
    """(the causes as (cause, its alert) by rank, the alerts that are not ranked causes)."""
    alerts = {a.get("id"): a for a in inc.get("alerts") or []}
    causes = sorted(inc.get("causes") or [], key=lambda c: c.get("rank", 0))
    ranked = [(c, alerts[c["alert_id"]]) for c in causes if c.get("alert_id") in alerts]
    cause_ids = {a.get("id") for _, a in ranked}
    rest = [a for a in inc.get("alerts") or [] if a.get("id") not in cause_ids]
    return ranked, rest


def _recommendation(inc: dict[str, Any]) -> str:
    """The incident's one recommendation as a line: its summary, then its first action."""
    rec = inc.get("recommendation")
    if not isinstance(rec, dict) or not rec.get("summary"):
        return ""
    actions = rec.get("actions") or []
    return str(rec["summary"]) + (f" Next: {actions[0]}" if actions else "")


def _headline(notice: dict[str, Any]) -> str:
    inc = _incident(notice)
    return f"[{inc.get('severity', '?')}] {inc.get('title') or inc.get('model', '')}"


# -- Alertmanager webhook, version 4 ---------------------------------------------------------------


def _am_alert(inc: dict[str, Any], alert: dict[str, Any], cause: dict[str, Any] | None) -> dict[str, Any]:
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items() if v is not None}
    for key, value in (("team", inc.get("team")), ("owner", inc.get("owner"))):
        if value is not None:
            labels.setdefault(key, str(value))
    # the contract's labels win over an alert's own label of the same name
    labels.update({"alertname": str(alert.get("name", "")), "model": str(inc.get("model", "")),
                   "model_version": str(alert.get("model_version") or ""),
                   "severity": str(alert.get("severity") or inc.get("severity", "")),
                   "incident_id": str(inc["id"])})
    annotations = {"summary": str(alert.get("summary") or ""), "description": str(alert.get("description") or ""),
                   "runbook_url": str(alert.get("runbook_url") or ""), "role": str(alert.get("role") or "")}
    if cause is not None:
        annotations["cause_rank"] = str(cause.get("rank", ""))
        annotations["evidence"] = str(cause.get("evidence") or "")
    rec = _recommendation(inc)
    if rec:
        annotations["recommendation"] = rec
    resolved = _resolved(inc) or alert.get("status") == "resolved"
    ends = (alert.get("ends_at") or inc.get("resolved_at") or ZERO_TIME) if resolved else ZERO_TIME
    return {"status": "resolved" if resolved else "firing", "labels": labels, "annotations": annotations,
            "startsAt": alert.get("starts_at") or inc.get("opened_at"), "endsAt": ends,
            "generatorURL": str(inc.get("url") or ""), "fingerprint": str(alert.get("fingerprint") or "")}


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map shares (Alertmanager's commonLabels / commonAnnotations)."""
    if not maps:
        return {}
    out = dict(maps[0])
    for m in maps[1:]:
        out = {k: v for k, v in out.items() if m.get(k) == v}
    return out


def alertmanager_payload(notice: dict[str, Any], external_url: str) -> dict[str, Any]:
    """The JSON Alertmanager (webhook ``version`` "4") would post for this incident as one alert group.

    Keys in Alertmanager's order. ``status`` is "resolved" once the incident is (and then every alert is);
    a firing alert's ``endsAt`` is Alertmanager's zero time. Alerts come causes first, by rank, then the
    symptoms, so a receiver that shows only the first alert shows the likely root cause.

    >>> p = alertmanager_payload({"event": "opened", "receiver": "default", "incident": {
    ...     "id": "inc-1", "model": "credit", "status": "open", "severity": "P0", "url": "http://a/inc-1",
    ...     "opened_at": "2026-12-07T04:00:00Z", "alerts": [{"id": "al-1", "name": "missing_column",
    ...     "severity": "P0", "model_version": "v2", "labels": {"column": "income"}, "role": "cause",
    ...     "status": "firing", "starts_at": "2026-12-07T04:00:00Z", "fingerprint": "0123456789abcdef"}],
    ...     "causes": [{"alert_id": "al-1", "rank": 1, "evidence": "moved first"}]}}, "http://argus:8080")
    >>> p["version"], p["groupKey"], p["status"], p["alerts"][0]["endsAt"]
    ('4', 'inc-1', 'firing', '0001-01-01T00:00:00Z')
    >>> p["alerts"][0]["labels"]
    {'column': 'income', 'alertname': 'missing_column', 'model': 'credit', 'model_version': 'v2', 'severity': 'P0', 'incident_id': 'inc-1'}
    """
    inc = _incident(notice)
    ranked, rest = _ranked(inc)
    alerts = [_am_alert(inc, a, c) for c, a in ranked] + [_am_alert(inc, a, None) for a in rest]
    return {"receiver": str(notice.get("receiver", "")), "status": "resolved" if _resolved(inc) else "firing",
            "alerts": alerts, "groupLabels": {"incident_id": str(inc["id"]), "model": str(inc.get("model", ""))},
            "commonLabels": _common([a["labels"] for a in alerts]),
            "commonAnnotations": _common([a["annotations"] for a in alerts]),
            "externalURL": external_url, "version": "4", "groupKey": str(inc["id"]), "truncatedAlerts": 0}


# -- Slack ----------------------------------------------------------------------------------------


def _mrkdwn(text: object) -> str:
    """Slack's three control characters escaped (its docs: &, <, > and nothing else)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: object, label: str) -> str:
    return f"<{str(url).replace('|', '%7C').replace('>', '%3E')}|{_mrkdwn(label)}>"


def _labels_text(alert: dict[str, Any]) -> str:
    """`` (column=income)``, or nothing for an alert without labels."""
    text = ", ".join(f"{k}={v}" for k, v in sorted((alert.get("labels") or {}).items()))
    return f" ({text})" if text else ""


def _section(text: str) -> dict[str, Any]:
    if len(text) > _SLACK_TEXT_MAX:
        text = text[:_SLACK_TEXT_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


_SAYS = {"opened": "opened", "escalated": "escalated", "repeat": "still open", "resolved": "resolved"}


def slack_payload(notice: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification's fallback) and Block Kit ``blocks``:
    a header with severity and title, the incident's facts, the ranked likely causes with their evidence,
    the symptoms, and links to the incident and the runbooks."""
    inc = _incident(notice)
    event = str(notice.get("event", "opened"))
    resolved = _resolved(inc)
    head = ("Resolved: " if resolved else "") + _headline(notice)
    if len(head) > _SLACK_HEADER_MAX:
        head = head[:_SLACK_HEADER_MAX - 1] + "…"
    facts = [f"*Model* {_mrkdwn(inc.get('model', ''))}", f"*Status* {_mrkdwn(inc.get('status', ''))} "
             f"({_SAYS.get(event, event)})", f"*Opened* {_mrkdwn(inc.get('opened_at', ''))}"]
    if resolved and inc.get("resolved_at"):
        facts.append(f"*Resolved* {_mrkdwn(inc['resolved_at'])}")
    facts += [f"*{k.title()}* {_mrkdwn(inc[k])}" for k in ("team", "owner") if inc.get(k)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head, "emoji": False}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]}]
    rec = _recommendation(inc)
    if rec and not resolved:
        blocks.append(_section(f"*Recommendation*\n{_mrkdwn(rec)}"))
    ranked, rest = _ranked(inc)
    if ranked:
        lines = [f"{c.get('rank', i + 1)}. *{_mrkdwn(a.get('name', ''))}*{_mrkdwn(_labels_text(a))}: "
                 f"{_mrkdwn(a.get('summary') or '')}" + (f"\n      _{_mrkdwn(c['evidence'])}_" if c.get("evidence") else "")
                 for i, (c, a) in enumerate(ranked)]
        blocks.append(_section("*Likely causes*\n" + "\n".join(lines)))
    if rest:
        blocks.append(_section(("*Symptoms*" if ranked else "*Alerts*") + "\n" + "\n".join(
            f"• *{_mrkdwn(a.get('name', ''))}* [{_mrkdwn(a.get('severity', ''))}]{_mrkdwn(_labels_text(a))}: "
            f"{_mrkdwn(a.get('summary') or '')}"
            for a in rest)))
    links = [_link(inc["url"], f"Incident {inc['id']}")] if inc.get("url") else []
    runbooks: dict[str, str] = {}
    for _, a in ranked:
        if a.get("runbook_url"):
            runbooks.setdefault(str(a.get("name")), a["runbook_url"])
    for a in rest:
        if a.get("runbook_url"):
            runbooks.setdefault(str(a.get("name")), a["runbook_url"])
    if runbooks:
        links.append("Runbooks: " + ", ".join(_link(u, n) for n, u in runbooks.items()))
    if links:
        blocks.append(_section(" · ".join(links)))
    text = f"{head} ({_SAYS.get(event, event)})" + (f" {inc['url']}" if inc.get("url") else "")
    return {"text": text, "blocks": blocks}


# -- e-mail -----------------------------------------------------------------------------------------


def _email_lines(notice: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The body as (line, link) pairs: the text part prints them, the HTML part links them."""
    inc = _incident(notice)
    event = str(notice.get("event", "opened"))
    out: list[tuple[str, str | None]] = [
        (_headline(notice), None),
        (f"Incident {inc['id']} of model {inc.get('model', '')} is {inc.get('status', '')} "
         f"({_SAYS.get(event, event)}); opened {inc.get('opened_at', '')}"
         + (f", resolved {inc['resolved_at']}" if inc.get("resolved_at") else "") + ".", None)]
    who = ", ".join(f"{k}: {inc[k]}" for k in ("team", "owner") if inc.get(k))
    if who:
        out.append((who.capitalize(), None))
    rec = inc.get("recommendation")
    if isinstance(rec, dict) and rec.get("summary") and not _resolved(inc):
        out += [("", None), ("Recommendation", None), (str(rec["summary"]), None)]
        out += [(f"- {a}", None) for a in rec.get("actions") or []]
    ranked, rest = _ranked(inc)
    if ranked:
        out += [("", None), ("Likely causes", None)]
        for i, (c, a) in enumerate(ranked):
            out.append((f"{c.get('rank', i + 1)}. {a.get('name', '')} [{a.get('severity', '')}]{_labels_text(a)}: "
                        f"{a.get('summary') or ''}", None))
            if c.get("evidence"):
                out.append((f"   Evidence: {c['evidence']}", None))
            if a.get("runbook_url"):
                out.append((f"   Runbook: {a['runbook_url']}", a["runbook_url"]))
    if rest:
        out += [("", None), ("Symptoms" if ranked else "Alerts", None)]
        for a in rest:
            out.append((f"- {a.get('name', '')} [{a.get('severity', '')}]{_labels_text(a)}: {a.get('summary') or ''}",
                        None))
            if a.get("runbook_url"):
                out.append((f"   Runbook: {a['runbook_url']}", a["runbook_url"]))
    if inc.get("url"):
        out += [("", None), (f"Incident: {inc['url']}", inc["url"])]
    return out


def _domain(sender: str) -> str:
    addr = email.utils.parseaddr(sender)[1]
    return addr.rpartition("@")[2] if "@" in addr else "argus.localhost"


def email_message(notice: dict[str, Any], receiver: Receiver | EmailReceiver, *, key: str | None = None,
                  now: float | None = None) -> EmailMessage:
    """The e-mail for a notice: subject ``[P0] <title> (<event>)``, a plain-text body and the same as simple
    HTML. ``key`` (the outbox id) makes the ``Message-ID`` stable across retries of one notice, so a mail
    server that saw a retry's first try keeps one copy; every notice of an incident refers to the incident's
    own id, so mail clients thread them."""
    rx = receiver.email if isinstance(receiver, Receiver) else receiver
    if rx is None:
        raise ValueError(f"receiver {notice.get('receiver')!r} is not an e-mail receiver")
    inc = _incident(notice)
    event = str(notice.get("event", "opened"))
    domain = _domain(rx.sender)
    msg = EmailMessage()
    msg["Subject"] = f"{_headline(notice)} ({event})"
    msg["From"] = rx.sender
    msg["To"] = ", ".join(rx.to)
    msg["Date"] = email.utils.formatdate(time.time() if now is None else now, usegmt=True)
    if key is not None:
        digest = hashlib.sha256(f"{inc['id']}/{event}/{key}".encode()).hexdigest()[:24]
        msg["Message-ID"] = f"<argus.{digest}@{domain}>"
    else:
        msg["Message-ID"] = email.utils.make_msgid("argus", domain=domain)
    thread = f"<argus.{inc['id']}@{domain}>"
    msg["In-Reply-To"] = thread
    msg["References"] = thread
    lines = _email_lines(notice)
    msg.set_content("\n".join(line for line, _ in lines) + "\n")
    body = []
    for i, (line, url) in enumerate(lines):
        if i == 0:
            body.append(f"<h2>{html.escape(line)}</h2>")
        elif url:
            body.append(f'<p><a href="{html.escape(url)}">{html.escape(line)}</a></p>')
        elif line in ("Likely causes", "Symptoms", "Alerts"):
            body.append(f"<h3>{html.escape(line)}</h3>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    msg.add_alternative("<html><body>\n" + "\n".join(body) + "\n</body></html>\n", subtype="html")
    return msg


def digest_message(notice: dict[str, Any], receiver: EmailReceiver, *, now: float | None = None) -> EmailMessage:
    """The owner report of a digest notice, addressed. The notice carries the whole message as rendered
    when it was queued (``message``: RFC 5322 text, the HTML and its inline images); the envelope comes
    from the receiver as configured now, and the ``Message-ID`` from the model and the period's end, so a
    retry that a mail server already took is kept once."""
    text = notice.get("message")
    if not isinstance(text, str) or not text:
        raise ValueError(f"digest notice of model {notice.get('model')!r} carries no 'message'")
    msg = email.message_from_string(text, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for header in ("From", "To", "Date", "Message-ID"):
        del msg[header]
    msg["From"] = receiver.sender
    msg["To"] = ", ".join(receiver.to)
    msg["Date"] = email.utils.formatdate(time.time() if now is None else now, usegmt=True)
    period = notice.get("period") or {}
    digest = hashlib.sha256(f"digest/{notice.get('model')}/{period.get('end')}".encode()).hexdigest()[:24]
    msg["Message-ID"] = f"<argus.{digest}@{_domain(receiver.sender)}>"
    return msg


# -- delivery ---------------------------------------------------------------------------------------


def _where(url: str) -> str:
    """A URL reduced to scheme, host and port: a Slack webhook's path is its secret, and so may a
    webhook's be, so errors and logs never show it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """One client for every delivery (it is thread-safe): building one loads the CA bundle, which costs
    more than a POST to a near receiver, and its pool keeps connections to a busy receiver open."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(headers={"User-Agent": "argus-notify"}, follow_redirects=False)
        return _client


def _post(name: str, kind: str, url: str, payload: dict[str, Any], timeout: float) -> None:
    where = f"receiver {name!r} ({kind} {_where(url)})"
    try:
        response = _http().post(url, json=payload, timeout=timeout)
    except httpx.TimeoutException:
        raise DeliveryError(f"{where}: no answer within {timeout:g} s (the receiver's 'timeout')", True) from None
    except httpx.ConnectError as exc:
        raise DeliveryError(f"{where}: cannot connect ({exc or 'connection refused'}); is the receiver up?",
                            True) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}", True) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    body = response.text[:200]
    retryable = status >= 500 or status in (408, 429)
    hint = "" if retryable else " (not retried: fix the receiver's URL or what it expects)"
    raise DeliveryError(f"{where}: HTTP {status}: {body!r}{hint}", retryable,
                        _retry_after(response) if retryable else None)


def _smtp(name: str, rx: SmtpServer, msg: EmailMessage, timeout: float) -> None:
    where = f"receiver {name!r} (email via {rx.smtp_host}:{rx.smtp_port})"
    password = None
    if rx.username is not None:
        if rx.password_env is None or rx.password_env not in os.environ:
            raise DeliveryError(f"{where}: 'username' is set but the password variable "
                                f"{rx.password_env or '(password_env not set)'} is not in the environment; set "
                                "it in the server's environment and restart", False)
        password = os.environ[rx.password_env]
    try:
        with smtplib.SMTP(rx.smtp_host, rx.smtp_port, timeout=timeout) as smtp:
            if rx.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if rx.username is not None:
                smtp.login(rx.username, password or "")
            smtp.send_message(msg)
    except TimeoutError:
        raise DeliveryError(f"{where}: no answer within {timeout:g} s (the receiver's 'timeout')", True) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where}: login as {rx.username!r} refused: {exc.smtp_code} "
                            f"{exc.smtp_error.decode(errors='replace')[:200]}", False) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{where}: {exc} (set starttls: false, or use a server that offers it)", False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        raise DeliveryError(f"{where}: recipients refused: "
                            + "; ".join(f"{r}: {c} {m.decode(errors='replace')[:100]}"
                                        for r, (c, m) in exc.recipients.items()),
                            all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{where}: SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')[:200]}",
                            400 <= exc.smtp_code < 500) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, dropped mid-conversation
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc or 'connection failed'}", True) from None


def deliver(notice: dict[str, Any], receiver: Receiver, external_url: str, *, key: str | None = None) -> None:
    """Send one notice to ``receiver`` (webhook and Slack: POST JSON, any 2xx is success; e-mail: SMTP; a
    digest notice: its rendered message, by e-mail).

    Raises ``DeliveryError`` naming the receiver and the reason. Whether it is worth retrying follows
    Alertmanager's own rule for webhooks (5xx may recover, 4xx will not) plus 408 and 429, which ask for
    a later try; timeouts and refused connections are retryable."""
    name = str(notice.get("receiver", "?"))
    if notice.get("event") == "digest":
        if receiver.email is None:
            raise DeliveryError(f"receiver {name!r}: a digest goes by e-mail, and this receiver is a "
                                f"{receiver.kind}", False)
        _smtp(name, receiver.email, digest_message(notice, receiver.email), receiver.timeout)
        return
    if receiver.webhook is not None:
        _post(name, "webhook", receiver.webhook, alertmanager_payload(notice, external_url), receiver.timeout)
    elif receiver.slack is not None:
        _post(name, "slack", receiver.slack, slack_payload(notice), receiver.timeout)
    else:
        assert receiver.email is not None
        _smtp(name, receiver.email, email_message(notice, receiver, key=key), receiver.timeout)

"""Notifiers: Alertmanager-format webhooks, Slack and e-mail against real local servers; the outbox and the
sender's retries, backoff, priority and restarts, driven by a simulated clock."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from argusml.alerts.notify import (
    ZERO_TIME,
    DeliveryError,
    alertmanager_payload,
    deliver,
    email_message,
    slack_payload,
)
from argusml.alerts.sender import Sender
from argusml.schema.alerts import AlertsConfig, EmailReceiver, Receiver
from argusml.store import Store
from service_util import free_port

T0 = 1_796_700_000.0


def make_notice(event: str = "opened", status: str = "open", receiver: str = "default", incident: str = "inc-1",
                severity: str = "P0", title: str = "credit: missing_column income (+1 more)") -> dict[str, Any]:
    resolved = status == "resolved"
    end = "2026-12-07T05:30:00Z" if resolved else None
    return {"event": event, "receiver": receiver, "incident": {
        "id": incident, "model": "credit", "status": status, "severity": severity,
        "opened_at": "2026-12-07T04:00:00Z", "resolved_at": end, "team": "risk", "owner": "alice",
        "url": f"http://argus.example:8080/v1/incidents/{incident}", "title": title,
        "alerts": [
            {"id": "al-2", "name": "accuracy_drop", "severity": "P1", "role": "symptom",
             "status": "resolved" if resolved else "firing", "model_version": "v2", "labels": {"metric": "accuracy"},
             "summary": "accuracy 0.71, 12% below its 30-day 0.81", "description": "step, not slope",
             "runbook_url": "http://argus.example:8080/runbooks/accuracy_drop", "starts_at": "2026-12-07T04:20:00Z",
             "ends_at": None, "fingerprint": "fedcba9876543210"},
            {"id": "al-1", "name": "missing_column", "severity": "P0", "role": "cause",
             "status": "resolved" if resolved else "firing", "model_version": "v2",
             "labels": {"column": "income", "model": "spoofed"},
             "summary": "column income is missing from every event", "description": "renamed upstream?",
             "runbook_url": "http://argus.example:8080/runbooks/missing_column", "starts_at": "2026-12-07T04:00:00Z",
             "ends_at": "2026-12-07T05:25:00Z" if resolved else None, "fingerprint": "0123456789abcdef"}],
        "causes": [{"alert_id": "al-1", "rank": 1, "evidence": "moved first: 20 minutes before accuracy_drop"}]}}


# -- a real HTTP receiver -----------------------------------------------------------------------------


class Hook:
    """A local HTTP server that records every POST and answers from a script (then 200 "ok")."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.script: list[tuple[int, str, dict[str, str]]] = []
        self.gates: dict[str, threading.Event] = {}
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gate = hook.gates.get(self.path)
                if gate is not None:
                    gate.wait(10)
                with hook.arrived:
                    hook.posts.append((self.path, body))
                    status, text, headers = hook.script.pop(0) if hook.script else (200, "ok", {})
                    hook.arrived.notify_all()
                data = text.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return  # the test reads what arrived; the server's access log would only be noise

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.posts) >= n, timeout)

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    yield s
    s.close()


# -- the Alertmanager payload -----------------------------------------------------------------------


def test_alertmanager_payload_has_exactly_the_fields_alertmanager_sends():
    p = alertmanager_payload(make_notice(), "http://argus.example:8080")
    # notify/webhook.Message embeds template.Data: these and no others, at both levels
    assert set(p) == {"receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                      "externalURL", "version", "groupKey", "truncatedAlerts"}
    assert {frozenset(a) for a in p["alerts"]} == {frozenset(
        {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"})}
    assert all(isinstance(v, str) for a in p["alerts"] for d in (a["labels"], a["annotations"]) for v in d.values())


@pytest.mark.service
def test_webhook_receives_alertmanager_v4_json_with_every_contract_key(hook: Hook):
    deliver(make_notice(), Receiver(webhook=hook.url + "/am"), "http://argus.example:8080")
    assert len(hook.posts) == 1
    path, p = hook.posts[0]
    assert path == "/am"
    assert (p["version"], p["status"], p["groupKey"], p["truncatedAlerts"], p["receiver"], p["externalURL"]) == (
        "4", "firing", "inc-1", 0, "default", "http://argus.example:8080")
    assert p["groupLabels"] == {"incident_id": "inc-1", "model": "credit"}
    cause, symptom = p["alerts"]  # the ranked cause first, whatever order the incident lists them in
    assert cause == {
        "status": "firing",
        "labels": {"alertname": "missing_column", "model": "credit", "model_version": "v2", "severity": "P0",
                   "incident_id": "inc-1", "column": "income", "team": "risk", "owner": "alice"},
        "annotations": {"summary": "column income is missing from every event", "description": "renamed upstream?",
                        "runbook_url": "http://argus.example:8080/runbooks/missing_column", "role": "cause",
                        "cause_rank": "1", "evidence": "moved first: 20 minutes before accuracy_drop"},
        "startsAt": "2026-12-07T04:00:00Z", "endsAt": ZERO_TIME,
        "generatorURL": "http://argus.example:8080/v1/incidents/inc-1", "fingerprint": "0123456789abcdef"}
    assert symptom["labels"]["alertname"] == "accuracy_drop" and symptom["labels"]["severity"] == "P1"
    assert symptom["annotations"]["role"] == "symptom" and "cause_rank" not in symptom["annotations"]
    assert (symptom["startsAt"], symptom["endsAt"], symptom["fingerprint"]) == (
        "2026-12-07T04:20:00Z", ZERO_TIME, "fedcba9876543210")
    # the labels and annotations both alerts share, as Alertmanager computes them
    assert p["commonLabels"] == {"model": "credit", "model_version": "v2", "incident_id": "inc-1", "team": "risk",
                                 "owner": "alice"}
    assert p["commonAnnotations"] == {}


@pytest.mark.service
def test_a_resolved_incident_is_sent_resolved_with_end_times(hook: Hook):
    deliver(make_notice("resolved", "resolved"), Receiver(webhook=hook.url), "http://argus.example:8080")
    p = hook.posts[0][1]
    assert p["status"] == "resolved" and [a["status"] for a in p["alerts"]] == ["resolved", "resolved"]
    # an alert's own end where it has one, else the incident's
    assert [a["endsAt"] for a in p["alerts"]] == ["2026-12-07T05:25:00Z", "2026-12-07T05:30:00Z"]


def test_the_contract_labels_win_over_an_alert_s_own_label_of_the_same_name():
    p = alertmanager_payload(make_notice(), "")
    assert p["alerts"][0]["labels"]["model"] == "credit"  # the alert's labels said "spoofed"


# -- Slack ------------------------------------------------------------------------------------------


@pytest.mark.service
def test_slack_gets_a_header_the_ranked_causes_the_symptoms_and_the_links(hook: Hook):
    deliver(make_notice(), Receiver(slack=hook.url + "/services/T0/B0/secret"), "")
    path, p = hook.posts[0]
    assert path == "/services/T0/B0/secret"
    assert p["text"] == ("[P0] credit: missing_column income (+1 more) (opened) "
                         "http://argus.example:8080/v1/incidents/inc-1")
    kinds = [b["type"] for b in p["blocks"]]
    assert kinds == ["header", "section", "section", "section", "section"]
    assert p["blocks"][0]["text"] == {"type": "plain_text", "text": "[P0] credit: missing_column income (+1 more)",
                                      "emoji": False}
    facts = [f["text"] for f in p["blocks"][1]["fields"]]
    assert facts == ["*Model* credit", "*Status* open (opened)", "*Opened* 2026-12-07T04:00:00Z", "*Team* risk",
                     "*Owner* alice"]
    causes = p["blocks"][2]["text"]["text"]
    assert causes == ("*Likely causes*\n1. *missing_column* (column=income, model=spoofed): column income is missing "
                      "from every event\n      _moved first: 20 minutes before accuracy_drop_")
    assert p["blocks"][3]["text"]["text"] == ("*Symptoms*\n• *accuracy_drop* [P1] (metric=accuracy): accuracy 0.71, "
                                             "12% below its 30-day 0.81")
    assert p["blocks"][4]["text"]["text"] == (
        "<http://argus.example:8080/v1/incidents/inc-1|Incident inc-1> · Runbooks: "
        "<http://argus.example:8080/runbooks/missing_column|missing_column>, "
        "<http://argus.example:8080/runbooks/accuracy_drop|accuracy_drop>")


def test_slack_says_resolved_and_escapes_its_control_characters():
    p = slack_payload(make_notice("resolved", "resolved", title="credit: <b>&co</b>"))
    assert p["blocks"][0]["text"]["text"] == "Resolved: [P0] credit: <b>&co</b>"  # plain_text: not parsed
    assert "*Resolved* 2026-12-07T05:30:00Z" in [f["text"] for f in p["blocks"][1]["fields"]]
    n = make_notice()
    n["incident"]["alerts"][0]["summary"] = "a <@channel> & more"
    n["incident"]["alerts"][0]["labels"] = {}
    assert slack_payload(n)["blocks"][3]["text"]["text"] == "*Symptoms*\n• *accuracy_drop* [P1]: a &lt;@channel&gt; &amp; more"


# -- e-mail against a real SMTP server ---------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"argus", b"s3cret")
        return AuthResult(success=ok, handled=False)  # False: the server answers 535 itself

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.mark.service
def test_email_arrives_with_subject_recipients_and_both_bodies(smtp: tuple[Inbox, int]):
    inbox, port = smtp
    rx = Receiver(email=EmailReceiver(to=["oncall@example.com", "risk@example.com"], sender="argus@example.com",
                                      smtp_host="127.0.0.1", smtp_port=port))
    deliver(make_notice(receiver="mail"), rx, "", key="17")
    assert len(inbox.messages) == 1
    rcpt, msg = inbox.messages[0]
    assert rcpt == ["oncall@example.com", "risk@example.com"]
    assert msg["Subject"] == "[P0] credit: missing_column income (+1 more) (opened)"
    assert (msg["To"], msg["From"]) == ("oncall@example.com, risk@example.com", "argus@example.com")
    assert msg["Message-ID"].endswith("@example.com>") and msg["Date"]
    assert msg["References"] == "<argus.inc-1@example.com>"
    text = msg.get_body(("plain",)).get_content()
    assert text.splitlines()[:3] == [
        "[P0] credit: missing_column income (+1 more)",
        "Incident inc-1 of model credit is open (opened); opened 2026-12-07T04:00:00Z.",
        "Team: risk, owner: alice"]
    assert ("1. missing_column [P0] (column=income, model=spoofed): column income is missing from every event"
            in text)
    assert "   Evidence: moved first: 20 minutes before accuracy_drop" in text
    assert "- accuracy_drop [P1] (metric=accuracy): accuracy 0.71, 12% below its 30-day 0.81" in text
    assert text.rstrip().endswith("Incident: http://argus.example:8080/v1/incidents/inc-1")
    body = msg.get_body(("html",)).get_content()
    assert '<a href="http://argus.example:8080/runbooks/missing_column">' in body
    assert "<h3>Likely causes</h3>" in body and "<h3>Symptoms</h3>" in body
    # a retry of the same outbox row carries the same Message-ID; another row, another id
    again = email_message(make_notice(receiver="mail"), rx, key="17")
    assert again["Message-ID"] == msg["Message-ID"]
    assert email_message(make_notice(receiver="mail"), rx, key="18")["Message-ID"] != msg["Message-ID"]


@pytest.mark.service
def test_email_logs_in_with_the_password_from_the_environment(smtp: tuple[Inbox, int],
                                                             monkeypatch: pytest.MonkeyPatch):
    inbox, port = smtp
    rx = Receiver(email=EmailReceiver(to=["a@example.com"], smtp_host="127.0.0.1", smtp_port=port,
                                      username="argus", password_env="ARGUS_TEST_SMTP_PASSWORD"))
    monkeypatch.delenv("ARGUS_TEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(DeliveryError) as no_env:
        deliver(make_notice(receiver="mail"), rx, "")
    assert not no_env.value.retryable and "ARGUS_TEST_SMTP_PASSWORD" in str(no_env.value)
    monkeypatch.setenv("ARGUS_TEST_SMTP_PASSWORD", "wrong")
    with pytest.raises(DeliveryError) as refused:
        deliver(make_notice(receiver="mail"), rx, "")
    assert not refused.value.retryable and "login as 'argus' refused: 535" in str(refused.value)
    monkeypatch.setenv("ARGUS_TEST_SMTP_PASSWORD", "s3cret")
    deliver(make_notice(receiver="mail"), rx, "")
    assert len(inbox.messages) == 1


@pytest.mark.service
def test_email_to_a_closed_port_is_a_retryable_error():
    port = free_port()
    rx = Receiver(email=EmailReceiver(to=["a@example.com"], smtp_host="127.0.0.1", smtp_port=port))
    with pytest.raises(DeliveryError) as err:
        deliver(make_notice(receiver="mail"), rx, "")
    assert err.value.retryable and str(err.value).startswith(f"receiver 'mail' (email via 127.0.0.1:{port}): ")


# -- delivery errors ------------------------------------------------------------------------------------


@pytest.mark.service
@pytest.mark.parametrize(("status", "retryable"), [(400, False), (404, False), (408, True), (429, True),
                                                   (500, True), (503, True)])
def test_http_errors_name_the_receiver_the_status_and_the_body(hook: Hook, status: int, retryable: bool):
    hook.script = [(status, "x" * 150 + "y" * 150, {"Retry-After": "120"})]
    with pytest.raises(DeliveryError) as err:
        deliver(make_notice(receiver="pager"), Receiver(slack=hook.url + "/services/secret-token"), "")
    assert err.value.retryable is retryable
    assert f"receiver 'pager' (slack {hook.url}): HTTP {status}: '{'x' * 150}{'y' * 50}'" in str(err.value)
    assert "secret-token" not in str(err.value)  # a Slack URL's path is its credential
    assert err.value.retry_after == (120.0 if retryable else None)


@pytest.mark.service
def test_a_refused_connection_and_a_timeout_are_retryable(hook: Hook):
    port = free_port()
    with pytest.raises(DeliveryError) as refused:
        deliver(make_notice(), Receiver(webhook=f"http://127.0.0.1:{port}/x"), "")
    assert refused.value.retryable
    assert str(refused.value).startswith(f"receiver 'default' (webhook http://127.0.0.1:{port}): cannot connect")
    hook.gates["/slow"] = threading.Event()  # answers only when the test ends
    started = time.monotonic()
    with pytest.raises(DeliveryError) as slow:
        deliver(make_notice(), Receiver(webhook=hook.url + "/slow", timeout=0.3), "")
    assert slow.value.retryable and "no answer within 0.3 s" in str(slow.value)
    assert time.monotonic() - started < 5


# -- the outbox -----------------------------------------------------------------------------------------


@pytest.mark.service
def test_the_outbox_offers_p0_first_then_oldest_and_one_head_per_incident_and_receiver(store: Store):
    ids = store.queue_notifications([("m", "inc-a", "r", "P2", "{}"), ("m", "inc-b", "r", "P1", "{}")], T0)
    ids += store.queue_notifications([("m", "inc-c", "r", "P0", "{}"), ("m", "inc-a", "r", "P2", "{}"),
                                      ("m", "inc-a", "s", "P2", "{}")], T0 + 1)
    assert ids == [1, 2, 3, 4, 5]
    assert [r.id for r in store.due_notifications(T0 + 1, 10)] == [3, 2, 1, 5]  # 4 waits behind 1
    assert [r.id for r in store.due_notifications(T0 + 1, 2)] == [3, 2]
    assert store.due_notifications(T0 - 1, 10) == []
    # inc-a's head fails and waits for a retry: the notice behind it waits too, nothing else does
    store.notification_failed(1, T0 + 2, "HTTP 503", T0 + 60)
    assert [r.id for r in store.due_notifications(T0 + 2, 10)] == [3, 2, 5]
    assert store.next_notification_at() == T0  # 2, 3 and 5 are still due
    for i in (2, 3, 5):
        store.notification_sent(i, T0 + 3)
    assert store.next_notification_at() == T0 + 60  # inc-a's head, not the notice behind it (due at T0 + 1)
    # escalated: inc-a's new P0 notice lifts its waiting head above the P1 of an older incident
    store.queue_notifications([("m", "inc-d", "r", "P1", "{}"), ("m", "inc-a", "r", "P0", "{}")], T0 + 4)
    assert [r.id for r in store.due_notifications(T0 + 60, 10)] == [1, 6]
    assert store.notification_counts() == {"pending": 4, "sent": 3, "failed": 0}
    store.notification_failed(1, T0 + 61, "HTTP 400", None)
    row = store.notifications(incident_id="inc-a", limit=10)[-1]
    assert (row["id"], row["state"], row["attempts"], row["next_at"], row["last_error"]) == (
        1, "failed", 2, None, "HTTP 400")
    assert store.prune_notifications(T0 + 50) == 3 and store.notification_counts()["sent"] == 0


@pytest.mark.service
def test_a_notice_queued_in_a_rolled_back_transaction_is_not_kept(store: Store):
    with pytest.raises(RuntimeError), store.transaction() as cur:
        store.queue_notifications([("m", "inc-1", "r", "P0", make_notice())], T0, cur=cur)
        raise RuntimeError("the engine's save failed")
    assert store.notification_counts()["pending"] == 0
    with store.transaction() as cur:
        (i,) = store.queue_notifications([("m", "inc-1", "r", "P0", make_notice())], T0, cur=cur)
    (row,) = store.due_notifications(T0)
    assert row.id == i and json.loads(row.notice) == make_notice()


def test_a_notice_with_an_unknown_severity_is_refused(tmp_path: Path):
    s = Store(tmp_path)
    try:
        with pytest.raises(ValueError, match="severity 'P3' is not P0, P1 or P2"):
            s.queue_notifications([("m", "inc-1", "r", "P3", "{}")], T0)
    finally:
        s.close()


# -- the sender -----------------------------------------------------------------------------------------


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def sender_for(store: Store, receivers: dict[str, Receiver], clock: Clock, **kw: Any) -> tuple[Sender, list[Any]]:
    calls: list[Any] = []
    s = Sender(store, lambda model: receivers, clock=clock, external_url="http://argus.example:8080", jitter=0.0,
               on_failure=lambda *a: calls.append(a), **kw)
    return s, calls


@pytest.mark.service
def test_503_twice_then_200_is_sent_once_on_the_backoff_schedule(store: Store, hook: Hook):
    hook.script = [(503, "busy", {}), (503, "busy", {})]
    clock = Clock(T0)
    sender, calls = sender_for(store, {"default": Receiver(webhook=hook.url)}, clock)
    (i,) = store.queue_notifications([("credit", "inc-1", "default", "P0", make_notice())], T0)
    assert sender.run_once(T0) == 1
    row = store.notifications()[0]
    assert (row["state"], row["attempts"], row["next_at"]) == ("pending", 1, T0 + 5)
    assert sender.run_once(T0 + 4.9) == 0  # not due yet
    clock.t = T0 + 5
    assert sender.run_once(T0 + 5) == 1
    assert store.notifications()[0]["next_at"] == T0 + 5 + 10  # doubled
    clock.t = T0 + 15
    assert sender.run_once(T0 + 15) == 1
    row = store.notifications()[0]
    assert (row["id"], row["state"], row["attempts"], row["sent_at"]) == (i, "sent", 3, T0 + 15)
    assert sender.run_once(T0 + 10_000) == 0
    assert len(hook.posts) == 3 and all(p == hook.posts[0] for p in hook.posts)
    assert sender.sent == {("credit", "default"): 1} and sender.failures == {("credit", "default"): 2}
    assert [(c[0], c[1], c[4]) for c in calls] == [("credit", "default", False)] * 2
    assert calls[0][2] == make_notice() and "HTTP 503: 'busy'" in calls[0][3]
    sender.stop()


@pytest.mark.service
def test_400_gives_up_at_once_and_says_why(store: Store, hook: Hook):
    hook.script = [(400, "invalid_payload", {})]
    sender, calls = sender_for(store, {"default": Receiver(webhook=hook.url)}, Clock(T0))
    store.queue_notifications([("credit", "inc-1", "default", "P0", make_notice())], T0)
    assert sender.run_once(T0) == 1
    row = store.notifications()[0]
    assert (row["state"], row["attempts"], row["next_at"]) == ("failed", 1, None)
    assert "HTTP 400: 'invalid_payload' (not retried" in row["last_error"]
    assert sender.run_once(T0 + 86_400) == 0 and len(hook.posts) == 1
    assert sender.gave_up == {("credit", "default"): 1}
    assert sender.last_error[("credit", "default")] == row["last_error"]
    assert [(c[1], c[4]) for c in calls] == [("default", True)]
    sender.stop()


@pytest.mark.service
def test_a_refused_connection_is_retried_until_the_give_up_horizon(store: Store):
    url = f"http://127.0.0.1:{free_port()}"
    clock = Clock(T0)
    sender, calls = sender_for(store, {"default": Receiver(webhook=url)}, clock, give_up_after=30.0)
    store.queue_notifications([("credit", "inc-1", "default", "P0", make_notice())], T0)
    for t, next_at in ((T0, T0 + 5), (T0 + 5, T0 + 15)):
        clock.t = t
        assert sender.run_once(t) == 1
        assert store.notifications()[0]["next_at"] == next_at
    clock.t = T0 + 15
    assert sender.run_once(T0 + 15) == 1  # the next try (T0 + 35) would be past 30 s after queueing
    row = store.notifications()[0]
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert "cannot connect" in row["last_error"] and "(given up: still failing 30 s after it was queued)" in row[
        "last_error"]
    assert [c[4] for c in calls] == [False, False, True] and sender.failures == {("credit", "default"): 3}
    sender.stop()


@pytest.mark.service
def test_retry_after_stretches_the_backoff(store: Store, hook: Hook):
    hook.script = [(429, "slow down", {"Retry-After": "60"})]
    sender, _ = sender_for(store, {"default": Receiver(webhook=hook.url)}, Clock(T0))
    store.queue_notifications([("credit", "inc-1", "default", "P0", make_notice())], T0)
    sender.run_once(T0)
    assert store.notifications()[0]["next_at"] == T0 + 60
    sender.stop()


def test_the_backoff_doubles_to_its_cap_within_its_jitter(tmp_path: Path):
    s = Sender(None, lambda m: {}, seed=7)  # type: ignore[arg-type]  # the policy needs no store
    for attempt, base in ((1, 5), (2, 10), (3, 20), (8, 640), (9, 900), (40, 900)):
        d = s.delay(attempt)
        assert base * 0.9 <= d <= base * 1.1
    assert len({round(s.delay(1), 9) for _ in range(20)}) > 1  # jittered
    assert s.delay(1, retry_after=7200) == 900  # a Retry-After past the cap is held to the cap
    s.stop()


@pytest.mark.service
def test_a_receiver_gone_from_the_config_fails_the_notice_with_that_reason(store: Store, hook: Hook):
    config = AlertsConfig(receivers={"pager": Receiver(webhook=hook.url)})
    live = {"credit": config}
    sender = Sender(store, lambda m: live[m].all_receivers(), clock=Clock(T0))
    store.queue_notifications([("credit", "inc-1", "oncall", "P0", make_notice(receiver="oncall")),
                               ("gone", "inc-2", "pager", "P1", make_notice(receiver="pager"))], T0)
    assert sender.run_once(T0) == 2
    rows = {r["model"]: r for r in store.notifications()}
    assert rows["credit"]["state"] == "failed" and rows["credit"]["last_error"] == (
        "receiver 'oncall' is no longer in the alerts config of model 'credit' (its receivers: pager); the notice "
        "is dropped")
    assert rows["gone"]["state"] == "failed" and "(its receivers: none)" in rows["gone"]["last_error"]
    assert hook.posts == []
    sender.stop()


@pytest.mark.service
def test_a_p0_is_sent_before_fifty_p2s_queued_before_it(store: Store, hook: Hook):
    clock = Clock(T0)
    sender, _ = sender_for(store, {"default": Receiver(webhook=hook.url)}, clock)
    store.queue_notifications([("credit", f"inc-p2-{i:02d}", "default", "P2",
                                make_notice(incident=f"inc-p2-{i:02d}", severity="P2")) for i in range(50)], T0)
    store.queue_notifications([("credit", "inc-p0", "default", "P0", make_notice(incident="inc-p0"))], T0 + 1)
    assert sender.run_once(T0 + 1) == 51
    order = [p["groupKey"] for _, p in hook.posts]
    assert order == ["inc-p0"] + [f"inc-p2-{i:02d}" for i in range(50)]
    assert sender.sent == {("credit", "default"): 51}
    sender.stop()


@pytest.mark.service
def test_a_slow_receiver_does_not_hold_the_others_and_wake_sends_at_once(store: Store, hook: Hook):
    hook.gates["/slow"] = threading.Event()
    receivers = {"slow": Receiver(webhook=hook.url + "/slow"), "fast": Receiver(webhook=hook.url + "/fast")}
    sender = Sender(store, lambda m: receivers, idle_wait=60.0)
    sender.start()
    try:
        store.queue_notifications([("credit", f"inc-{i}", "slow", "P0", make_notice(receiver="slow", incident=f"inc-{i}"))
                                   for i in range(3)], time.time())
        sender.wake()
        started = time.monotonic()
        store.queue_notifications([("credit", "inc-9", "fast", "P2", make_notice(receiver="fast", incident="inc-9"))],
                                  time.time())
        sender.wake()
        assert hook.wait_for(1, 10)  # the fast one, while the slow receiver holds its first notice
        took = time.monotonic() - started
        assert hook.posts[0][0] == "/fast" and took < 2.0  # woken, not the 60 s idle wait
        hook.gates["/slow"].set()
        assert hook.wait_for(4, 10)
        assert [p["groupKey"] for path, p in hook.posts if path == "/slow"] == ["inc-0", "inc-1", "inc-2"]
    finally:
        sender.stop()
    assert store.notification_counts() == {"pending": 0, "sent": 4, "failed": 0}


@pytest.mark.service
def test_a_pending_notice_survives_a_restart_and_is_sent_once(tmp_path: Path, hook: Hook):
    first = Store(tmp_path / "data")
    with first.transaction() as cur:
        first.queue_notifications([("credit", "inc-1", "default", "P0", make_notice())], T0, cur=cur)
    first.close()  # the process stops before its sender ran
    second = Store(tmp_path / "data")
    try:
        sender, _ = sender_for(second, {"default": Receiver(webhook=hook.url)}, Clock(T0 + 30))
        assert sender.run_once(T0 + 30) == 1
        assert sender.run_once(T0 + 60) == 0
        sender.stop()
        assert len(hook.posts) == 1 and hook.posts[0][1]["groupKey"] == "inc-1"
        assert second.notification_counts() == {"pending": 0, "sent": 1, "failed": 0}
    finally:
        second.close()

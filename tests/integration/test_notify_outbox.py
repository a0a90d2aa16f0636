"""Notifications: Slack, PagerDuty and SMTP over loopback, through the persistent outbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import CANARY, Reply, free_port

from cockpit.config import EmailSettings, PagerDutySettings, Secret, SlackSettings
from cockpit.notify import Outbox, email_message, pagerduty_event, slack_rollback_message
from cockpit.notify.channels import EmailChannel, PagerDutyChannel, SlackChannel
from cockpit.notify.notifier import Notifier

T0 = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)
HEAD = "9f2c" * 16


def slack_for(url: str) -> SlackChannel:
    return SlackChannel(SlackSettings(webhook_url=Secret(url, "env SLACK"), timeout_s=1.0))


def pd_for(url: str) -> PagerDutyChannel:
    return PagerDutyChannel(PagerDutySettings(routing_key=Secret(CANARY, "env PD"),
                                              events_url=url + "/v2/enqueue", timeout_s=1.0))


class Outcomes(list):
    def __call__(self, channel: str, summary: str, outcome: str, detail: str) -> None:
        self.append((channel, outcome, detail))


def message():
    return slack_rollback_message("Production", "error rate 6.8%", "alice", "30 minutes", HEAD)


def test_slack_message_has_the_procedures_shape(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/services/T000/B000/" + CANARY, Reply(200, "ok"))
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"slack": slack_for(server.url + "/services/T000/B000/" + CANARY)},
                 outcomes)
    box.enqueue(message(), now=T0)
    assert box.deliver_due(T0)[0][1] == "delivered"
    body = server.hits("POST", "/services/T000/B000/" + CANARY)[0].json()
    assert body["text"] == "🚨 CRITICAL: Production rollback initiated"
    (attachment,) = body["attachments"]
    assert attachment["color"] == "danger"
    assert {f["title"]: f["value"] for f in attachment["fields"]} == {
        "Environment": "Production", "Reason": "error rate 6.8%", "Initiated By": "alice",
        "ETA": "30 minutes", "Journal head": HEAD[:16]}
    assert outcomes == [("slack", "delivered", "Slack accepted (200)")]
    assert box.pending() == []


def test_429_waits_for_retry_after_then_delivers(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(429, "rate_limited", {"Retry-After": "30"}),
                  Reply(200, "ok"))
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"slack": slack_for(server.url + "/hook")}, outcomes)
    box.enqueue(message(), now=T0)
    assert box.deliver_due(T0)[0][1] == "retrying"
    assert box.next_due() == T0 + timedelta(seconds=30)
    assert box.deliver_due(T0 + timedelta(seconds=29)) == [], "not due before Retry-After"
    assert box.deliver_due(T0 + timedelta(seconds=30))[0][1] == "delivered"
    assert [o for _, o, _ in outcomes] == ["retrying", "delivered"]
    assert "retry in 30s" in outcomes[0][2]


def test_5xx_backs_off_exponentially_with_jitter_and_gives_up_keeping_it(loopback,
                                                                        tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(500, "boom"))
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"slack": slack_for(server.url + "/hook")}, outcomes,
                 base_backoff_s=5, max_backoff_s=30, max_attempts=6)
    box.enqueue(message(), now=T0)
    now = T0
    waits = []
    for _ in range(6):
        box.deliver_due(now)
        due = box.next_due()
        if due is None:
            break
        waits.append((due - now).total_seconds())
        now = due
    # each wait is drawn between half and all of 5, 10, 20, then the 30 s cap
    for wait, ceiling in zip(waits, (5, 10, 20, 30, 30), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert len(set(waits)) == len(waits), "jitter: not the same wait every time"
    (entry,) = box.entries()
    assert entry.state == "abandoned" and "gave up after 6 attempts" in entry.detail
    assert [o for _, o, _ in outcomes][-1] == "abandoned"
    assert len(server.hits("POST", "/hook")) == 6
    # given up on is not forgotten: it stays in the outbox, across a restart, until retried
    (kept,) = Outbox(tmp_path, {}).undelivered()
    assert kept.id == entry.id and kept.state == "abandoned"


def test_client_errors_are_never_retried(loopback, tmp_path: Path) -> None:
    for status in (400, 401, 403, 404):
        server = loopback()
        server.script("POST", "/hook", Reply(status, "invalid_token"))
        outcomes = Outcomes()
        box = Outbox(tmp_path / str(status), {"slack": slack_for(server.url + "/hook")},
                     outcomes)
        box.enqueue(message(), now=T0)
        box.deliver_due(T0)
        box.deliver_due(T0 + timedelta(hours=1))
        assert len(server.hits("POST", "/hook")) == 1
        assert outcomes[0][1] == "failed" and str(status) in outcomes[0][2]


def test_timeout_and_refused_connection_are_retried_without_the_url(loopback,
                                                                   tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/" + CANARY, Reply(200, "ok", delay_s=2.5))
    outcomes = Outcomes()
    dead = f"http://127.0.0.1:{free_port()}/{CANARY}"
    box = Outbox(tmp_path, {"slack": slack_for(server.url + "/" + CANARY),
                            "pagerduty": pd_for(dead)}, outcomes)
    box.enqueue(message(), now=T0)
    box.enqueue(pagerduty_event("INC-1", "trigger", "rollback", "cockpit"), now=T0)
    box.deliver_due(T0)
    assert sorted(o for _, o, _ in outcomes) == ["retrying", "retrying"]
    details = " ".join(d for _, _, d in outcomes)
    assert "did not answer within 1s" in details and "cannot reach PagerDuty" in details
    assert CANARY not in details
    assert CANARY not in (tmp_path / "outbox.jsonl").read_text()


def test_pagerduty_event_and_same_dedup_key_on_every_retry(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/v2/enqueue", Reply(500, {"status": "error"}),
                  Reply(202, {"status": "success", "message": "Event processed",
                              "dedup_key": "INC-42"}))
    box = Outbox(tmp_path, {"pagerduty": pd_for(server.url)})
    box.enqueue(pagerduty_event("INC-42", "trigger", "Production rollback initiated",
                                "rollback-cockpit"), now=T0)
    box.deliver_due(T0)
    box.deliver_due(T0 + timedelta(minutes=1))
    first, second = (r.json() for r in server.hits("POST", "/v2/enqueue"))
    assert first == second
    assert first == {"routing_key": CANARY, "event_action": "trigger", "dedup_key": "INC-42",
                     "payload": {"summary": "Production rollback initiated",
                                 "source": "rollback-cockpit", "severity": "critical"}}
    assert box.entries()[0].state == "delivered"
    # the routing key is added at send time: never persisted
    assert CANARY not in (tmp_path / "outbox.jsonl").read_text()


def test_pagerduty_resolve_has_no_payload() -> None:
    event = pagerduty_event("INC-42", "resolve", "done", "cockpit")
    assert event.payload == {"event_action": "resolve", "dedup_key": "INC-42"}


def test_outbox_survives_a_restart(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(503, "busy"), Reply(200, "ok"))
    box = Outbox(tmp_path, {"slack": slack_for(server.url + "/hook")})
    box.enqueue(message(), now=T0)
    box.enqueue(email_message("URGENT: Production Rollback in Progress", "body"), now=T0)
    box.deliver_due(T0)  # slack: retrying; email: channel not configured -> failed
    reopened = Outbox(tmp_path, {"slack": slack_for(server.url + "/hook")})
    states = {e.notification.channel: (e.state, e.attempts) for e in reopened.entries()}
    assert states == {"slack": ("pending", 1), "email": ("failed", 1)}
    reopened.deliver_due(T0 + timedelta(minutes=5))
    assert [e.state for e in Outbox(tmp_path, {}).entries()] == ["delivered", "failed"]


def test_email_over_smtp(smtp_server, tmp_path: Path) -> None:
    settings = EmailSettings(host=smtp_server.host, port=smtp_server.port,
                             from_addr="cockpit@whitecross.health",
                             to=("platform-team@whitecross.health", "execs@whitecross.health"),
                             starttls=False, timeout_s=5)
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"email": EmailChannel(settings)}, outcomes)
    box.enqueue(email_message("URGENT: Production Rollback in Progress",
                              "Reason: error rate 6.8%\nStatus page: https://status.example"),
                now=T0)
    box.deliver_due(T0)
    assert outcomes == [("email", "delivered", "sent to 2 recipient(s)")]
    (envelope,) = smtp_server.messages
    assert envelope.rcpt_tos == ["platform-team@whitecross.health", "execs@whitecross.health"]
    text = envelope.content.decode()
    assert "Subject: URGENT: Production Rollback in Progress" in text
    assert "Priority: Urgent" in text and "Reason: error rate 6.8%" in text


def test_email_starttls_against_a_server_without_it_fails_permanently(smtp_server,
                                                                       tmp_path: Path) -> None:
    settings = EmailSettings(host=smtp_server.host, port=smtp_server.port, from_addr="a@b.c",
                             to=("d@e.f",), starttls=True, timeout_s=5)
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"email": EmailChannel(settings)}, outcomes)
    box.enqueue(email_message("s", "b"), now=T0)
    box.deliver_due(T0)
    assert outcomes[0][1] == "failed" and "STARTTLS" in outcomes[0][2]


def test_email_to_an_absent_server_is_retried(tmp_path: Path) -> None:
    settings = EmailSettings(host="127.0.0.1", port=free_port(), from_addr="a@b.c",
                             to=("d@e.f",), starttls=False, timeout_s=2)
    outcomes = Outcomes()
    box = Outbox(tmp_path, {"email": EmailChannel(settings)}, outcomes)
    box.enqueue(email_message("s", "b"), now=T0)
    box.deliver_due(T0)
    assert outcomes[0][1] == "retrying" and "cannot reach the SMTP server" in outcomes[0][2]


# ------------------------------------------------------------------ the notifier (outbox + pump)


def wait_until(predicate, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)
    return bool(predicate())


def test_a_broken_journal_hook_does_not_stop_deliveries(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(200, "ok"), Reply(200, "ok"))
    notifier = Notifier(tmp_path, {"slack": slack_for(server.url + "/hook")},
                        environment="production")

    def broken(_kind: str, _data: dict) -> None:
        raise OSError("journal disk full")

    notifier.bind(broken, lambda: HEAD)
    try:
        first = notifier.queue(notifier.message("slack", {"message": "one"}, "INC-7"))
        assert notifier.first_attempt(first).outcome == "delivered"
        second = notifier.queue(notifier.message("slack", {"message": "two"}, "INC-7"))
        assert notifier.first_attempt(second).outcome == "delivered"
    finally:
        notifier.close()
    texts = [hit.json()["text"] for hit in server.hits("POST", "/hook")]
    assert texts == [f"one\nJournal head: {HEAD}", f"two\nJournal head: {HEAD}"]


def test_deliveries_are_journaled_with_the_reason_redacted(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/v2/enqueue", Reply(400, "bad"))
    recorded: list[tuple[str, dict]] = []
    notifier = Notifier(tmp_path, {"pagerduty": pd_for(server.url)}, environment="production",
                        clean=lambda text: text.replace("400", "[REDACTED]"))
    notifier.bind(lambda kind, data: recorded.append((kind, data)), lambda: HEAD)
    try:
        note = notifier.message("pagerduty", {"event": "trigger", "summary": "api down"},
                                "INC-7")
        sent = notifier.first_attempt(notifier.queue(note))
    finally:
        notifier.close()
    assert sent.outcome == "failed"  # 400 is never retried
    body = server.hits("POST", "/v2/enqueue")[0].json()
    assert body["payload"]["summary"] == f"api down (Journal head: {HEAD})"
    assert body["payload"]["custom_details"] == {"journal_head": HEAD,
                                                 "environment": "production"}
    ((kind, data),) = recorded
    assert kind == "notification.failed" and data["channel"] == "pagerduty"
    assert "400" not in data["reason"] and data["attempts"] == 1


def test_what_is_pending_at_close_is_delivered_after_a_restart(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(503, "busy", {"Retry-After": "1"}), Reply(200, "ok"))
    channels = {"slack": slack_for(server.url + "/hook")}
    notifier = Notifier(tmp_path, channels, environment="production")
    entry = notifier.queue(notifier.message("slack", {"message": "rollback started"}, "INC-7"))
    assert notifier.first_attempt(entry).outcome == "pending"  # 503: the pump retries later
    notifier.close()
    assert [e.state for e in Outbox(tmp_path, {}).entries()] == ["pending"]
    reopened = Notifier(tmp_path, channels, environment="production")
    try:
        # the retry is due 1 s after the first attempt; the restarted pump sends it then
        assert wait_until(lambda: len(server.hits("POST", "/hook")) == 2)
    finally:
        reopened.close()
    assert [e.state for e in Outbox(tmp_path, {}).entries()] == ["delivered"]


def test_the_pump_sends_without_anyone_waiting(loopback, tmp_path: Path) -> None:
    server = loopback()
    server.script("POST", "/hook", Reply(200, "ok"))
    notifier = Notifier(tmp_path, {"slack": slack_for(server.url + "/hook")},
                        environment="production")
    try:
        assert notifier.post_status_update("Status: rolled back") == "slack"
        assert wait_until(lambda: len(server.hits("POST", "/hook")) == 1)
    finally:
        notifier.close()
    assert server.hits("POST", "/hook")[0].json()["text"] == (
        "Status: rolled back\nJournal head: unknown")  # nothing bound: said, not left blank

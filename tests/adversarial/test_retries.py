"""Retries and the outbox: a hostile or broken server cannot make the cockpit flood it,
burn its attempts, or lose a message quietly; Slack text arrives inert.

The failures this answers: ``Retry-After: inf`` or ``1e12`` made ~11 POSTs a second; ``0``
or a negative value burned every attempt in under a second; the outbox abandoned messages
after ~10 minutes without recording it; a status update sent ``<!channel>`` and
``<url|label>`` to Slack unescaped. Each test runs a real HTTP server on loopback and the
real channel, outbox and pump.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import Secret, SlackSettings
from cockpit.notify.channels import SlackChannel
from cockpit.notify.message import Notification, parse_retry_after, slack_escape
from cockpit.notify.notifier import Notifier
from cockpit.notify.outbox import Outbox, clamp_wait
from cockpit.timeline.kinds import EventKind as K

T0 = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)


class Hook:
    """A Slack-like webhook on loopback answering every POST with ``answer()``."""

    def __init__(self, answer: Callable[[int], tuple[int, dict[str, str]]]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.times: list[float] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                hook.times.append(time.monotonic())
                status, headers = answer(len(hook.bodies))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def channel(self) -> SlackChannel:
        return SlackChannel(SlackSettings(webhook_url=Secret(self.url, "env SLACK"),
                                          timeout_s=2.0))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory() -> Iterator[Callable[..., Hook]]:
    hooks: list[Hook] = []

    def make(answer: Callable[[int], tuple[int, dict[str, str]]]) -> Hook:
        hooks.append(Hook(answer))
        return hooks[-1]

    yield make
    for hook in hooks:
        hook.close()


class Record(list[tuple[str, dict[str, Any]]]):
    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.append((str(kind), dict(data)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self]


def always(status: int, headers: dict[str, str] | None = None
           ) -> Callable[[int], tuple[int, dict[str, str]]]:
    return lambda _n: (status, dict(headers or {}))


# ------------------------------------------------------------------ Retry-After, parsed


@pytest.mark.parametrize("raw,expected", [
    ("30", 30.0), (" 7 ", 7.0), ("2.5", 2.5), ("0", 0.0), ("-5", -5.0),
    ("inf", float("inf")), ("Infinity", float("inf")), ("1e12", 1e12), ("1e309", float("inf")),
    ("NaN", None), ("soon", None), ("", None), (None, None), ("30, 40", None),
    ("Tue, 32 Jan 2025 14:30:00 GMT", None), ("9" * 5000, None), ("1" * 64, float("1" * 64)),
])
def test_retry_after_is_read_as_seconds_or_nothing(raw: str | None,
                                                   expected: float | None) -> None:
    assert parse_retry_after(raw, T0) == pytest.approx(expected) if expected else \
        parse_retry_after(raw, T0) == expected


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after(format_datetime(T0 + timedelta(seconds=120), usegmt=True),
                             T0) == 120.0
    assert parse_retry_after(format_datetime(T0 - timedelta(hours=3), usegmt=True),
                             T0) == -10800.0
    assert parse_retry_after("Tue, 21 Jan 2025 14:31:00 GMT", T0) == 60.0


@pytest.mark.parametrize("advised,wait", [
    (float("inf"), 300.0), (1e12, 300.0), (301.0, 300.0), (0.0, 1.0), (-5.0, 1.0),
    (-1e12, 1.0), (0.2, 1.0), (30.0, 30.0), (None, None), (float("nan"), None),
])
def test_retry_after_is_clamped_to_one_second_and_the_maximum(advised: float | None,
                                                             wait: float | None) -> None:
    assert clamp_wait(advised, 300.0) == wait


# ------------------------------------------------------------------ against a live server


def pump_for(seconds: float, hooks: list[Hook], folders: list[Path],
             **options: Any) -> list[Record]:
    """One notifier per hook, each posting a status update, all pumping for ``seconds``."""
    records = [Record() for _ in hooks]
    notifiers = [Notifier(folder, {"slack": hook.channel()}, environment="production",
                          **options) for hook, folder in zip(hooks, folders, strict=True)]
    try:
        for notifier, record in zip(notifiers, records, strict=True):
            notifier.bind(record, lambda: "42:9f2c")
            notifier.post_status_update("Status: rolling back api")
        time.sleep(seconds)
    finally:
        for notifier in notifiers:
            notifier.close()
    return records


HUGE = ["inf", "1e12", "Infinity", "99999999999999999999", "1e309"]
ZERO_OR_PAST = ["0", "-5", "-1e12", "0.01", "Mon, 01 Jan 1990 00:00:00 GMT"]


def test_a_huge_retry_after_does_not_flood_the_server(hook_factory, tmp_path: Path) -> None:
    hooks = [hook_factory(always(429, {"Retry-After": h})) for h in HUGE]
    folders = [tmp_path / str(n) for n in range(len(HUGE))]
    records = pump_for(2.5, hooks, folders)
    assert {h: len(hook.bodies) for h, hook in zip(HUGE, hooks, strict=True)} == \
        dict.fromkeys(HUGE, 1), "POSTs in 2.5 s"
    for folder, record in zip(folders, records, strict=True):
        (entry,) = Outbox(folder, {}).entries()
        assert entry.state == "pending" and "retry in 300s" in entry.detail
        assert record.kinds() == [K.NOTIFICATION_FAILED]


def test_a_zero_or_past_retry_after_waits_at_least_a_second(hook_factory,
                                                           tmp_path: Path) -> None:
    hooks = [hook_factory(always(503, {"Retry-After": h})) for h in ZERO_OR_PAST]
    folders = [tmp_path / str(n) for n in range(len(ZERO_OR_PAST))]
    pump_for(2.6, hooks, folders, max_attempts=8)
    for header, hook, folder in zip(ZERO_OR_PAST, hooks, folders, strict=True):
        assert 2 <= len(hook.bodies) <= 3, f"{header}: {len(hook.bodies)} POSTs in 2.6 s"
        gaps = [b - a for a, b in zip(hook.times, hook.times[1:], strict=False)]
        assert all(gap >= 0.99 for gap in gaps), (header, gaps)
        (entry,) = Outbox(folder, {}).entries()
        assert entry.state == "pending", f"{header}: the attempts were not burned"


def test_garbage_retry_after_falls_back_to_the_backoff(hook_factory, tmp_path: Path) -> None:
    hook = hook_factory(always(429, {"Retry-After": "soon-ish"}))
    pump_for(1.5, [hook], [tmp_path], base_backoff_s=5.0)
    assert len(hook.bodies) == 1
    (entry,) = Outbox(tmp_path, {}).entries()
    wait = (entry.next_at - datetime.now(UTC)).total_seconds() if entry.next_at else 0
    assert 0.5 <= wait <= 5.0


def test_backoff_is_exponential_capped_and_jittered(tmp_path: Path) -> None:
    box = Outbox(tmp_path, {}, base_backoff_s=2, max_backoff_s=60, rng=random.Random(7))
    assert [box.backoff(n) for n in (1, 2, 3, 4, 5, 6, 7, 50, 10_000)] == [
        2, 4, 8, 16, 32, 60, 60, 60, 60]
    draws = [box._wait(6, None) for _ in range(200)]  # noqa: SLF001 - the drawn wait itself
    assert min(draws) >= 30 and max(draws) <= 60
    assert len({round(d, 3) for d in draws}) > 150, "jittered, not one fixed wait"
    for bad in (0, -3):  # a careless configuration still waits at least a second
        assert Outbox(tmp_path / str(bad), {}, base_backoff_s=bad).backoff(1) >= 1.0


# ------------------------------------------------------------------ giving up, never silently


def test_giving_up_is_recorded_said_and_the_message_kept(hook_factory, tmp_path: Path) -> None:
    hook = hook_factory(always(500))
    told: list[str] = []
    record = Record()
    notifier = Notifier(tmp_path, {"slack": hook.channel()}, environment="production",
                        base_backoff_s=1.0, max_backoff_s=1.0, max_attempts=2, jitter=0.0)
    notifier.on_abandoned = told.append
    notifier.bind(record, lambda: "42:9f2c")
    try:
        notifier.post_status_update("Status: rolled back")
        end = time.monotonic() + 10
        while K.NOTIFICATION_ABANDONED not in record.kinds() and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        notifier.close()
    assert record.kinds() == [K.NOTIFICATION_FAILED, K.NOTIFICATION_ABANDONED]
    abandoned = record[-1][1]
    assert abandoned["outcome"] == "abandoned" and abandoned["attempts"] == 2
    assert "Slack error 500" in abandoned["reason"] and "gave up after 2" in abandoned["reason"]
    assert told and "not delivered" in told[0] and "gave up" in told[0]
    # still in the outbox after a restart, until retried or dropped
    reopened = Outbox(tmp_path, {})
    assert [e.state for e in reopened.undelivered()] == ["abandoned"]
    assert reopened.pending() == [], "not retried behind the operator's back"


def test_an_abandoned_message_is_retried_or_dropped_only_when_asked(hook_factory,
                                                                   tmp_path: Path) -> None:
    hook = hook_factory(lambda n: (500, {}) if n <= 2 else (200, {}))
    record = Record()
    notifier = Notifier(tmp_path, {"slack": hook.channel()}, environment="production",
                        max_attempts=1)
    notifier.bind(record, lambda: "42:9f2c")
    try:
        first = notifier.queue(Notification("slack", "Slack: one", {"text": "one"}))
        assert notifier.first_attempt(first).outcome == "failed"
        second = notifier.queue(Notification("slack", "Slack: two", {"text": "two"}))
        notifier.first_attempt(second)
        notifier.drop(second, "sent by hand in #incident")
        notifier.retry(first)
        end = time.monotonic() + 10
        while K.NOTIFICATION_DELIVERED not in record.kinds() and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        notifier.close()
    states = {e.notification.summary: e.state for e in Outbox(tmp_path, {}).entries()}
    assert states == {"Slack: one": "delivered", "Slack: two": "dropped"}
    dropped = [d for k, d in record if k == K.NOTIFICATION_ABANDONED and d["id"] == second]
    assert [d["outcome"] for d in dropped] == ["abandoned", "dropped"]
    assert "sent by hand" in dropped[-1]["reason"]
    with pytest.raises(ValueError, match="dropped"):
        Outbox(tmp_path, {}).drop(second)


def test_a_permanent_refusal_is_recorded_and_kept(hook_factory, tmp_path: Path) -> None:
    hook = hook_factory(always(404))
    (record,) = pump_for(1.0, [hook], [tmp_path])
    assert len(hook.bodies) == 1
    assert record.kinds() == [K.NOTIFICATION_FAILED]
    assert "404" in record[0][1]["reason"]
    assert [e.state for e in Outbox(tmp_path, {}).undelivered()] == ["failed"]


# ------------------------------------------------------------------ Slack escaping


@pytest.mark.parametrize("text,inert", [
    ("<!channel> rollback done", "&lt;!channel&gt; rollback done"),
    ("<!here|here> and <!everyone>", "&lt;!here|here&gt; and &lt;!everyone&gt;"),
    ("see <https://evil.example/login|status page>",
     "see &lt;https://evil.example/login|status page&gt;"),
    ("ping <@U024BE7LH> <#C024BE7LR> <!subteam^SAZ94GDB8>",
     "ping &lt;@U024BE7LH&gt; &lt;#C024BE7LR&gt; &lt;!subteam^SAZ94GDB8&gt;"),
    ("R&D & ops: 5 > 3, 2 < 4", "R&amp;D &amp; ops: 5 &gt; 3, 2 &lt; 4"),
    ("already &lt;escaped&gt; &amp;", "already &amp;lt;escaped&amp;gt; &amp;amp;"),
])
def test_slack_receives_special_sequences_inert(hook_factory, tmp_path: Path, text: str,
                                                inert: str) -> None:
    hook = hook_factory(always(200))
    notifier = Notifier(tmp_path, {"slack": hook.channel()}, environment="prod<!channel>")
    notifier.bind(None, lambda: "42:9f2c")
    try:
        notifier.post_status_update(text)
        entry = notifier.queue(notifier.message("slack", {"message": text}, "INC-<!here>"))
        assert notifier.first_attempt(entry).outcome == "delivered"
        end = time.monotonic() + 10
        while len(hook.bodies) < 2 and time.monotonic() < end:
            time.sleep(0.02)
    finally:
        notifier.close()
    status, step = sorted(hook.bodies, key=lambda body: "attachments" in body)
    assert status["text"] == f"{inert}\nJournal head: 42:9f2c"
    assert step["text"].startswith(inert)
    fields = {f["title"]: f["value"] for f in step["attachments"][0]["fields"]}
    assert fields["Environment"] == "prod&lt;!channel&gt;"
    assert fields["Incident"] == "INC-&lt;!here&gt;"
    raw = json.dumps(hook.bodies)
    assert "<!" not in raw and "<@" not in raw and "<http" not in raw


def test_slack_escape_leaves_plain_text_alone() -> None:
    plain = "Rollback of api to v2.3.1 complete; error rate 0.4% (was 6.8%)"
    assert slack_escape(plain) == plain


# ------------------------------------------------------------------ through the incident runtime


def test_the_runtime_keeps_the_outbox_with_the_incident_and_says_when_it_gives_up(
        hook_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.clock import SimClock
    from cockpit.config import Config
    from cockpit.connectors.executor import LiveExecutor
    from cockpit.incident import IncidentSession
    from cockpit.runtime.build import default_policy
    from cockpit.runtime.notices import Said
    from cockpit.runtime.runtime import IncidentRuntime
    from cockpit.timeline.journal import read_events

    state = tmp_path / "state"
    monkeypatch.setenv("COCKPIT_STATE_DIR", str(state))
    hook = hook_factory(always(500))
    slack = hook.channel()
    config = Config(slack=SlackSettings(webhook_url=Secret(hook.url, "env SLACK"),
                                        timeout_s=2.0))
    executor = LiveExecutor(config, read_only=False, state_dir=state, channels={"slack": slack})
    assert executor.notifier.outbox is None, "no outbox before there is an incident"
    clock = SimClock(T0, 1.0)
    session = IncidentSession.start(scenario=None, environment="production", mode="live",
                                    title="checkout errors", clock=clock, state_dir=state,
                                    incident_id="INC-20250121-143000-ret")
    runtime = IncidentRuntime(clock=clock, policy=default_policy(), session=session,
                              executor=executor)
    said: list[Said] = []
    runtime.subscribe(lambda notice: said.append(notice) if isinstance(notice, Said) else None)
    box = executor.notifier.outbox
    assert box is not None and box.folder == session.folder
    box.max_attempts, box.base_backoff_s, box.max_backoff_s, box.jitter = 2, 1.0, 1.0, 0.0
    try:
        runtime.status_update("Rolling back checkout 2.14 to 2.13.", post=True)
        end = time.monotonic() + 10
        while not said and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        executor.close()
        runtime.disconnect()
    assert (session.folder / "outbox.jsonl").is_file()
    assert not (state / "notifications").exists(), "no outbox shared by every incident"
    kinds = [e.kind for e in read_events(session.journal.path)]
    assert K.NOTIFICATION_ABANDONED in kinds
    (notice,) = said
    assert notice.severity == "error" and "not delivered" in notice.text
    assert "gave up after 2 attempts" in notice.text


# ------------------------------------------------------------------ the operator's answer


def test_the_operator_lists_drops_and_retries_from_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cockpit.cli import cli
    from cockpit.timeline.journal import Journal, read_events

    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path / "state"))
    journal = Journal.create(tmp_path / "state", incident_id="INC-20250121-143000-cli")
    journal.append("note.added", {"text": "slack is down"})
    box = Outbox(journal.folder, {}, max_attempts=1)
    gone = box.enqueue(Notification("slack", "Slack: rollback started", {"text": "x"}))
    kept = box.enqueue(Notification("email", "Email: compliance told", {"body": "y"}))
    box.deliver_due()  # no channel configured: both refused
    runner = CliRunner()
    incident = journal.incident_id
    listing = runner.invoke(cli, ["outbox", incident])
    assert listing.exit_code == 0 and gone in listing.output and kept in listing.output
    # the incident is open in a cockpit: nothing changes behind its back
    busy = runner.invoke(cli, ["outbox", incident, "--drop", gone, "--reason", "posted by hand"])
    assert busy.exit_code == 2 and "another cockpit" in busy.output
    journal.close()
    assert runner.invoke(cli, ["outbox", incident, "--drop", gone]).exit_code == 2, \
        "a drop needs a reason"
    dropped = runner.invoke(cli, ["outbox", incident, "--drop", gone, "--reason",
                                  "posted by hand in #incident"])
    assert dropped.exit_code == 0, dropped.output
    retried = runner.invoke(cli, ["outbox", incident, "--retry", kept])
    assert retried.exit_code == 0, retried.output
    unknown = runner.invoke(cli, ["outbox", incident, "--retry", "nope"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
    states = {e.id: e.state for e in Outbox(journal.folder, {}).entries()}
    assert states == {gone: "dropped", kept: "pending"}
    (event,) = [e for e in read_events(journal.path) if e.kind == K.NOTIFICATION_ABANDONED]
    assert event.data["outcome"] == "dropped" and event.data["id"] == gone
    assert "posted by hand" in event.data["reason"]

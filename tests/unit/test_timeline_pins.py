"""The reducer's timeline and pins: every event worth a line, who pinned what, and pins
that a second cockpit (a follower) rebuilds from a journal it did not write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.clock import SimClock
from cockpit.runtime.build import follower_runtime
from cockpit.sim.scenario import find_scenario
from cockpit.timeline.journal import GENESIS, Event, JournalWriteError, format_time
from cockpit.timeline.kinds import EventKind as K
from cockpit.timeline.playback import Playback
from cockpit.timeline.replay import Reducer, replay
from cockpit.training.session import TrainingSession

START = datetime(2025, 1, 21, 14, 30, tzinfo=UTC)


def event(n: int, kind: str, user: str = "dana", **data: object) -> Event:
    return Event(n, format_time(START + timedelta(seconds=n)), kind,
                 {"user": user, "host": "bastion", "ssh_client": None}, data, GENESIS,
                 "0" * 63 + "1")


def test_each_event_worth_a_line_is_on_the_timeline_but_samples_are_not() -> None:
    state = replay([
        event(1, K.INCIDENT_OPENED, title="api errors"),
        event(2, K.SAMPLE, metric="error_rate_pct", value=9.1),
        event(3, K.TRIGGER_CHANGED, trigger="error_rate", state="fired", value=9.1),
        event(4, K.NOTE_ADDED, text="checked \x1b[2Jthe\ndashboards", by="dana"),
        event(5, K.STEP_STARTED, runbook="k8s", step="undo", preview="kubectl rollout undo"),
        event(6, K.SOURCE_STALE, source="metrics", reason="timeout"),
    ])
    timeline = state.timeline
    assert [e.seq for e in timeline] == [1, 3, 4, 5, 6]
    assert [e.group for e in timeline] == ["other", "decisions", "notes", "steps", "sources"]
    assert timeline[1].who == "engine" and "FIRED" in timeline[1].text
    # one line, no escape sequence: the screen and the export get inert text
    assert timeline[2].text == "note by dana: checked the dashboards"
    assert timeline[3].who == "dana" and "kubectl rollout undo" in timeline[3].text


def test_pins_and_unpins_fold_into_the_state_with_who_pinned() -> None:
    events = [event(1, K.NOTE_ADDED, text="one", by="dana"),
              event(2, K.NOTE_ADDED, text="two", by="dana"),
              event(3, K.EVENT_PINNED, seq=1, by="dana"),
              event(4, K.EVENT_PINNED, user="lee", seq=2),
              event(5, K.EVENT_UNPINNED, seq=1, by="dana")]
    assert replay(events[:4]).timeline.pins.keys() == {1, 2}
    timeline = replay(events).timeline
    assert dict(timeline.pins).keys() == {2} and timeline.pins[2].by == "lee"
    assert [e.text for e in timeline.pinned()] == ["note by dana: two"]
    assert len(timeline) == 2  # the pins themselves are marks, not lines


def test_a_state_is_not_changed_by_later_events_and_replay_equals_live() -> None:
    live = Reducer()
    first = live.apply(event(1, K.NOTE_ADDED, text="one", by="dana"))
    live.apply(event(2, K.NOTE_ADDED, text="two", by="dana"))
    live.apply(event(3, K.EVENT_PINNED, seq=1, by="dana"))
    assert len(first.timeline) == 1 and not first.timeline.pins
    assert live.state.timeline.version != first.timeline.version
    assert replay([event(1, K.NOTE_ADDED, text="one", by="dana")]).timeline == first.timeline


def test_ten_thousand_events_fold_without_copying_the_timeline() -> None:
    events = [event(n, K.NOTE_ADDED if n % 3 else K.SAMPLE, text=f"n{n}", by="dana",
                    metric="cpu_pct", value=1.0) for n in range(1, 10_001)]
    reducer = Reducer()
    for e in events[:-1]:
        reducer.apply(e)
    before = reducer.state
    reducer.apply(events[-1])
    assert len(reducer.state.timeline) == len(before.timeline) + 1
    # the state of one event does not hold a copy of the others' lines: it is a view
    assert reducer.state.timeline._entries is before.timeline._entries  # noqa: SLF001
    assert reducer.state.timeline.find(9_998) is not None
    assert reducer.state.timeline.find(9_999) is None  # a sample: not on the timeline


def test_the_runtime_pins_what_is_on_the_timeline_and_refuses_the_rest(
        tmp_path: Path) -> None:
    s = TrainingSession(find_scenario("bad-deploy"), mode="exam", state_dir=tmp_path)
    s.runtime.note("checked the dashboards", by="dana")
    seq = s.runtime.state.timeline[-1].seq
    s.runtime.pin(seq)
    assert s.runtime.state.timeline.is_pinned(seq)
    with pytest.raises(ValueError, match="already pinned"):
        s.runtime.pin(seq)
    with pytest.raises(ValueError, match="not on the timeline"):
        s.runtime.pin(10_000)
    # a follower rebuilds the pins from the journal it did not write, and cannot pin
    clock = SimClock(s.scenario.start, 1)
    follower = follower_runtime(Playback(lambda: s.incident.journal.events), clock=clock,
                                environment="production", label="FOLLOW",
                                incident_id=s.incident_id)
    clock.advance(s.elapsed_s + 1)
    follower.tick()
    assert follower.state is not None and follower.state.timeline.is_pinned(seq)
    with pytest.raises(JournalWriteError, match="replay"):
        follower.unpin(seq)
    s.runtime.unpin(seq)
    assert not s.runtime.state.timeline.is_pinned(seq)
    with pytest.raises(ValueError, match="not pinned"):
        s.runtime.unpin(seq)
    s.abandon()


def test_pinned_events_are_marked_in_every_export() -> None:
    import json

    import jsonschema

    from cockpit.timeline.export import export_events, export_schema
    from cockpit.timeline.redact import Redactor

    events = [event(1, K.INCIDENT_OPENED, title="api errors"),
              event(2, K.NOTE_ADDED, text="pods restarting since the deploy", by="dana"),
              event(3, K.NOTE_ADDED, text="not this one", by="dana"),
              event(4, K.EVENT_PINNED, seq=2, by="lee")]
    md = export_events(events, "INC-1", "md", redactor=Redactor())
    pinned = md.split("## Pinned Events", 1)[1].split("##", 1)[0]
    assert "#2 note by dana: pods restarting since the deploy" in pinned
    assert "pinned by lee" in pinned and "not this one" not in pinned
    assert "| 2 **PINNED** |" in md and "| 3 |" in md
    doc = json.loads(export_events(events, "INC-1", "json", redactor=Redactor()))
    jsonschema.validate(doc, export_schema(), cls=jsonschema.Draft202012Validator)
    assert [(p["seq"], p["pinned_by"]) for p in doc["pinned"]] == [(2, "lee")]
    html = export_events(events, "INC-1", "html", redactor=Redactor())
    assert "<h2>Pinned events</h2>" in html and "<strong>PINNED</strong>" in html
    assert html.count("<strong>PINNED</strong>") == 1
    unpinned = export_events([*events, event(5, K.EVENT_UNPINNED, seq=2, by="lee")],
                             "INC-1", "md", redactor=Redactor())
    assert "None pinned" in unpinned and "**PINNED**" not in unpinned

"""Polling: a hung or failing source goes STALE with a reason; the others keep updating."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from cockpit.domain import CacheSnapshot
from cockpit.sources.base import SourceError, SourceStatus
from cockpit.sources.poller import Poller


class FakeSource:
    label = "fake"

    def __init__(self, kind: str = "cache", interval_s: float = 0.01, timeout_s: float = 0.2):
        self.kind = kind
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.calls = 0
        self.mode = "ok"
        self.release = threading.Event()
        self.threads: set[int] = set()

        self.token: object = None

    def revision(self) -> object:  # None: a live source, always fetched
        return self.token

    def fetch(self) -> CacheSnapshot:
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.mode == "hang":
            self.release.wait(5)
        if self.mode == "error":
            raise SourceError("connection refused by 127.0.0.1:6379")
        if self.mode == "crash":
            raise ZeroDivisionError("division by zero")
        return CacheSnapshot(datetime(2025, 1, 1, tzinfo=UTC), 0.5, (("k", str(self.calls)),))

    def close(self) -> None:
        self.release.set()


async def test_ok_poll_reports_snapshot() -> None:
    source = FakeSource()
    poller = Poller(source, lambda s: None)
    status = await poller.poll_once()
    assert status.state == "ok" and status.snapshot is not None and status.last_ok is not None


async def test_a_source_that_says_nothing_changed_is_not_fetched_or_reported_again() -> None:
    source = FakeSource()
    source.token = ("paused", 0)
    reported: list[SourceStatus] = []
    poller = Poller(source, reported.append)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.2)  # about twenty intervals
    assert source.calls == 1 and len(reported) == 1  # one answer, then silence
    source.token = ("paused", 1)  # something was done to the estate
    await asyncio.sleep(0.05)
    task.cancel()
    assert source.calls == 2 and len(reported) == 2
    assert reported[1].snapshot != reported[0].snapshot


async def test_a_failed_answer_is_asked_again_even_if_nothing_changed() -> None:
    source = FakeSource()
    source.token = "same"
    source.mode = "error"
    poller = Poller(source, lambda s: None)
    assert (await poller.poll_once()).state == "stale"
    source.mode = "ok"
    assert (await poller.poll_once()).state == "ok"
    assert source.calls == 2


async def test_hung_source_goes_stale_after_its_timeout_and_keeps_last_snapshot() -> None:
    source = FakeSource(timeout_s=0.1)
    poller = Poller(source, lambda s: None)
    good = await poller.poll_once()
    source.mode = "hang"
    stale = await poller.poll_once()
    assert stale.state == "stale"
    assert "no answer after" in stale.reason and "timeout 0.1s" in stale.reason
    assert stale.snapshot == good.snapshot  # last values stay on screen
    # the hung fetch is abandoned: the next poll asks again (it hangs too, still STALE)
    calls = source.calls
    again = await poller.poll_once()
    assert again.state == "stale" and source.calls == calls + 1
    # no more than MAX_ABANDONED fetches are left hanging: then the poller waits
    await poller.poll_once()
    calls = source.calls
    await poller.poll_once()
    assert source.calls == calls
    # it recovers by itself when the source answers again
    source.mode = "ok"
    source.release.set()
    await asyncio.sleep(0.05)
    recovered = await poller.poll_once()
    assert recovered.state in ("ok",)


async def test_failing_source_reason_is_shown() -> None:
    source = FakeSource()
    source.mode = "error"
    status = await Poller(source, lambda s: None).poll_once()
    assert status.state == "stale" and status.reason == "connection refused by 127.0.0.1:6379"
    source.mode = "crash"
    status = await Poller(source, lambda s: None).poll_once()
    assert status.reason == "ZeroDivisionError: division by zero"


async def test_one_hung_source_does_not_hold_up_the_others() -> None:
    hung, healthy = FakeSource("database", timeout_s=0.3), FakeSource("cache")
    hung.mode = "hang"
    seen: dict[str, list[SourceStatus]] = {"database": [], "cache": []}
    pollers = [Poller(s, lambda st: seen[st.kind].append(st)) for s in (hung, healthy)]
    tasks = [asyncio.create_task(p.run()) for p in pollers]
    await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    hung.close()
    assert len([s for s in seen["cache"] if s.state == "ok"]) >= 10
    assert seen["database"] and seen["database"][0].state == "stale"

"""Polling a source off the event loop, with a hard timeout and no overlap.

Core code: plain asyncio, no Textual. The app runs :meth:`Poller.run` as an
async worker per source. Each fetch runs in its own daemon thread, so a hung
client can neither block the event loop nor keep the process alive at exit.
A fetch still running past its timeout is abandoned (left to end in its thread,
its result ignored) and the next poll starts a fresh one, so a source that answers
again recovers on the next poll however its last request ended; at most
:data:`MAX_ABANDONED` abandoned fetches may still be running (threads must not pile
up): past that the poller waits on the newest and the source stays STALE.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from cockpit.domain import Snapshot
from cockpit.sources.base import Source, SourceError, SourceStatus
from cockpit.timeline.redact import redact_text
from cockpit.timeline.sanitize import sanitize_value

MAX_REASON = 100
#: Fetches left running past their timeout before no new one is started.
MAX_ABANDONED = 2


def describe_error(exc: BaseException) -> str:
    """A short, one-line reason for a failed poll."""
    if isinstance(exc, SourceError):
        text = str(exc)
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    # a server wrote it: no escape sequence or patient identifier reaches the screen
    text = " ".join(redact_text(text).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


class Poller:
    """Polls one :class:`Source` forever, reporting a :class:`SourceStatus` after each poll."""

    def __init__(
        self,
        source: Source,
        on_status: Callable[[SourceStatus], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.on_status = on_status
        self._monotonic = monotonic
        self._inflight: asyncio.Future[Snapshot] | None = None
        self._inflight_since = 0.0
        self._abandoned: set[asyncio.Future[Snapshot]] = set()
        self._unanswered_since: float | None = None
        """When the source was last asked without answering yet (None: it answered)."""
        self.status = SourceStatus(source.kind, source.label, "waiting", checked=monotonic())
        self._answered_revision: object = None
        """The source's revision when it last answered (None: unknown, fetch again)."""

    def answered(self, revision: object) -> bool:
        """Whether the last good answer was given at the source's ``revision``."""
        return revision is not None and revision == self._answered_revision \
            and self.status.state == "ok"

    def _start_fetch(self) -> asyncio.Future[Snapshot]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Snapshot] = loop.create_future()

        def deliver(result: Snapshot | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        def target() -> None:
            try:
                # what a server says is untrusted: no escape sequence reaches a panel
                result = sanitize_value(self.source.fetch())
            except BaseException as exc:  # noqa: BLE001 - everything becomes STALE
                outcome: tuple[Snapshot | None, BaseException | None] = (None, exc)
            else:
                outcome = (result, None)
            try:
                loop.call_soon_threadsafe(deliver, *outcome)
            except RuntimeError:
                pass  # the loop is gone: the cockpit is shutting down

        threading.Thread(target=target, name=f"poll-{self.source.kind}", daemon=True).start()
        return future

    def _abandon(self, future: asyncio.Future[Snapshot]) -> None:
        """Stop waiting on a fetch past its timeout; whatever it ends with is ignored."""
        self._abandoned.add(future)

        def forget(done: asyncio.Future[Snapshot]) -> None:
            self._abandoned.discard(done)
            if not done.cancelled():
                done.exception()  # retrieved: a late failure is no news

        future.add_done_callback(forget)

    async def poll_once(self) -> SourceStatus:
        """Poll once (or keep waiting on a hung poll) and return the new status (the same
        object as before when the source says nothing changed since its last answer)."""
        revision = self.source.revision()
        if (revision is not None and revision == self._answered_revision
                and self.status.state == "ok" and self._inflight is not None
                and self._inflight.done()):
            return self.status
        timeout = self.source.timeout_s
        inflight = self._inflight
        if (inflight is not None and not inflight.done()
                and self._monotonic() - self._inflight_since >= timeout
                and len(self._abandoned) < MAX_ABANDONED):
            self._abandon(inflight)
            inflight = None
        if inflight is None or inflight.done():
            self._inflight = inflight = self._start_fetch()
            self._inflight_since = self._monotonic()
            if self._unanswered_since is None:
                self._unanswered_since = self._inflight_since
            waited_before = 0.0
        else:
            waited_before = self._monotonic() - self._inflight_since
        previous = self.status
        try:
            remaining = max(0.05, timeout - waited_before)
            snapshot = await asyncio.wait_for(asyncio.shield(inflight), remaining)
        except TimeoutError:
            waited = self._monotonic() - (self._unanswered_since or self._inflight_since)
            reason = f"no answer after {waited:.0f}s (timeout {timeout:g}s)"
            self.status = self._stale(previous, reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._unanswered_since = None
            self.status = self._stale(previous, describe_error(exc))
        else:
            self._unanswered_since = None
            self._answered_revision = revision
            now = self._monotonic()
            self.status = SourceStatus(
                self.source.kind, self.source.label, "ok", snapshot, "", now, now
            )
        return self.status

    def _stale(self, previous: SourceStatus, reason: str) -> SourceStatus:
        return SourceStatus(
            self.source.kind,
            self.source.label,
            "stale",
            previous.snapshot,
            reason,
            previous.last_ok,
            self._monotonic(),
        )

    async def run(self) -> None:
        """Poll, report, wait ``interval_s`` after the poll finished, repeat until cancelled."""
        while True:
            previous = self.status
            status = await self.poll_once()
            if status is not previous:
                self.on_status(status)
            await asyncio.sleep(self.source.interval_s)

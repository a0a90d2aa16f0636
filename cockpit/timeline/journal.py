"""The incident journal: an append-only, fsynced, hash-chained JSON-lines file.

Each incident lives in ``<state_dir>/incidents/<ID>/`` (mode 0700) and holds
``journal.jsonl`` (0600). Every line is one event::

    {"seq": 1, "t": "2025-01-21T14:30:00.000Z", "kind": "incident.opened",
     "actor": {"user": "...", "host": "...", "ssh_client": null},
     "data": {...}, "redactions": {"ssn": 1}, "prev": "<64 hex>", "hash": "<64 hex>"}

``hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8)
of the event without ``hash``; ``prev`` is the previous event's ``hash`` (64
zeros for the first). :meth:`Journal.append` redacts ``data``, writes the line,
flushes and fsyncs before returning, so callers can write ``step.started``
before acting (write-ahead). One process writes a journal at a time
(``journal.lock``, with ``journal.lock.owner`` naming the holder); the journal file
itself is locked too (``flock`` on its descriptor, held while it is open), so deleting
``journal.lock`` does not let a second writer in, and a journal whose chain forks (two
lines with the same ``seq``) is refused.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import secrets
import socket
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.timeline.redact import Redactor, default_redactor

GENESIS = "0" * 64
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "journal.lock"
OWNER_NAME = "journal.lock.owner"
SAMPLE_INTERVAL_S = 10.0
#: The signed heads beside the journal (``cockpit.timeline.checkpoint.CHECKPOINTS_NAME``;
#: named here too because that module imports this one).
_CHECKPOINTS_NAME = "checkpoints.jsonl"

Clock = Callable[[], datetime]


class JournalError(Exception):
    """Base class of journal errors."""


class JournalWriteError(JournalError):
    """An event could not be made durable (disk full, permissions...); nothing was recorded."""


class JournalLockedError(JournalError):
    """Another cockpit holds the journal's single-writer lock."""


class JournalCorruptError(JournalError):
    """The journal's hash chain is broken before its last line; it will not be appended to."""


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC with milliseconds and a ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("journal times must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse a journal time back into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def new_incident_id(now: datetime | None = None) -> str:
    """Return a fresh incident ID ``INC-YYYYMMDD-HHMMSS-xxxx`` (UTC time + 4 random hex)."""
    moment = (now or utc_now()).astimezone(UTC)
    return f"INC-{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` canonically: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(record: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex of the canonical JSON of ``record`` without its ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who did something: local user, host and the SSH client address if any."""

    user: str
    host: str
    ssh_client: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """Return the actor as the journal stores it."""
        return {"user": self.user, "host": self.host, "ssh_client": self.ssh_client}


def current_actor(environ: Mapping[str, str] | None = None) -> Actor:
    """Return this process's actor: ``getpass`` user, hostname, SSH client address."""
    env = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    ssh = env.get("SSH_CLIENT") or env.get("SSH_CONNECTION") or ""
    client = ssh.split()[0] if ssh.split() else None
    return Actor(user=user, host=socket.gethostname(), ssh_client=client)


@dataclass(frozen=True)
class Event:
    """One journal event, exactly as stored."""

    seq: int
    t: str
    kind: str
    actor: Mapping[str, Any]
    data: Mapping[str, Any]
    prev: str
    hash: str
    redactions: Mapping[str, int] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        """The event time as an aware UTC datetime."""
        return parse_time(self.t)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as the journal stores it (``redactions`` only if any)."""
        record: dict[str, Any] = {
            "seq": self.seq,
            "t": self.t,
            "kind": self.kind,
            "actor": dict(self.actor),
            "data": dict(self.data),
            "prev": self.prev,
            "hash": self.hash,
        }
        if self.redactions:
            record["redactions"] = dict(self.redactions)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Event:
        """Build an event from a parsed journal line (``KeyError``/``TypeError`` if malformed)."""
        return cls(
            seq=int(record["seq"]),
            t=str(record["t"]),
            kind=str(record["kind"]),
            actor=dict(record.get("actor") or {}),
            data=dict(record.get("data") or {}),
            prev=str(record["prev"]),
            hash=str(record["hash"]),
            redactions=dict(record.get("redactions") or {}),
        )


@dataclass(frozen=True)
class TornLine:
    """A partial last line found when opening a journal (a crash mid-write)."""

    line: int
    size: int
    set_aside_to: Path | None

    def describe(self, name: str = JOURNAL_NAME) -> str:
        """Return the one-line report, e.g. ``journal.jsonl:42: torn last line ...``."""
        where = f" to {self.set_aside_to.name}" if self.set_aside_to else ""
        return f"{name}:{self.line}: torn last line (crash mid-write), set aside{where}"


@dataclass(frozen=True)
class ParsedJournal:
    """The whole lines of a journal file and, if any, its torn tail."""

    events: tuple[Event, ...]
    records: tuple[dict[str, Any], ...]
    good_size: int
    torn_line: int | None
    torn_bytes: bytes


def split_journal(raw: bytes) -> ParsedJournal:
    """Split raw journal bytes into parsed lines and a torn tail.

    The tail is torn when it lacks a trailing newline or the last line is not
    a JSON object. Lines before it that fail to parse raise ``ValueError``
    naming the line.
    """
    lines = raw.split(b"\n")
    # raw ending in b"\n" gives a final empty chunk
    tail = lines.pop()
    records: list[dict[str, Any]] = []
    events: list[Event] = []
    offset = 0
    torn_line: int | None = None
    torn_bytes = b""
    for index, line in enumerate(lines, start=1):
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            event = Event.from_dict(record)
        except (ValueError, KeyError, TypeError) as exc:
            if index == len(lines) and not tail:
                torn_line = index
                torn_bytes = line + b"\n"
                break
            raise ValueError(f"{JOURNAL_NAME}:{index}: not a valid event ({exc})") from exc
        records.append(record)
        events.append(event)
        offset += len(line) + 1
    if tail:
        torn_line = len(lines) + 1
        torn_bytes = tail
    return ParsedJournal(tuple(events), tuple(records), offset, torn_line, torn_bytes)


def read_events(path: Path) -> list[Event]:
    """Read the whole events of a journal file (a torn last line is skipped, not repaired)."""
    return list(split_journal(Path(path).read_bytes()).events)


#: Bytes :func:`last_event` reads from the end of a journal (most lines are well under 1 KB).
TAIL_WINDOW = 64 * 1024


def last_event(path: Path, window: int = TAIL_WINDOW) -> Event | None:
    """The journal's last whole event, read from the end of the file only.

    A torn last line is skipped, as :func:`read_events` skips it. ``None`` when this
    cannot be told from the last ``window`` bytes (an empty journal, a last line longer
    than that, a line that does not parse): read the whole journal then. A start-up
    that only needs to know how an incident ended (``cockpit`` looking for one to resume
    among dozens of closed ones) reads kilobytes instead of every journal.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - window)
        handle.seek(start)
        chunk = handle.read(size - start)
    lines = chunk.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a torn line
    if start > 0:
        lines = lines[1:]  # the first piece may begin mid-line
    # split_journal's rule: a last line that is not an event is torn when nothing follows
    candidates = lines[-2:] if not tail else lines[-1:]
    for position, line in enumerate(reversed(candidates)):
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            return Event.from_dict(record)
        except (ValueError, KeyError, TypeError):
            if position == 0 and not tail:
                continue  # a torn last line: the event before it is the last whole one
            return None
    return None


def incidents_dir(state_dir: Path) -> Path:
    """Return ``<state_dir>/incidents``."""
    return Path(state_dir) / "incidents"


def _default_state_dir() -> Path:
    from cockpit.paths import state_dir

    return state_dir()


def _make_private_dir(path: Path) -> None:
    from cockpit.paths import make_private_dir

    make_private_dir(path)  # 0700, and so is every parent it creates


def _fsync_dir(path: Path) -> None:
    from cockpit.paths import fsync_dir

    fsync_dir(path)


class Journal:
    """The single writer of one incident's journal.

    Create with :meth:`create` (new incident) or :meth:`open` (resume); use as a
    context manager or call :meth:`close`. ``append`` is the only way to write.
    """

    def __init__(
        self,
        folder: Path,
        *,
        clock: Clock = utc_now,
        actor: Actor | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """Open (creating if needed) the journal in ``folder`` for appending; takes the lock."""
        from filelock import FileLock, Timeout

        self.folder = Path(folder)
        self.incident_id = self.folder.name
        self.path = self.folder / JOURNAL_NAME
        self._clock = clock
        self.actor = actor or current_actor()
        self.redactor = redactor or default_redactor()
        self._last_sample: dict[str, datetime] = {}
        self._fd: int | None = None
        _make_private_dir(self.folder)
        self._lock = FileLock(str(self.folder / LOCK_NAME), timeout=0, mode=0o600)
        try:
            self._lock.acquire()
        except Timeout:
            raise JournalLockedError(self._locked_message()) from None
        try:
            self._lock_file()
            self._write_owner()
            self.torn: TornLine | None = None
            self._events: list[Event] = []
            self._open_file()
        except BaseException:
            self._close_file()
            self._lock.release()
            raise

    # -- construction -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        state_dir: Path | None = None,
        *,
        incident_id: str | None = None,
        clock: Clock = utc_now,
        actor: Actor | None = None,
        redactor: Redactor | None = None,
    ) -> Journal:
        """Create a new incident folder under ``state_dir`` (default: the cockpit state dir)."""
        root = incidents_dir(state_dir if state_dir is not None else _default_state_dir())
        _make_private_dir(root)
        ident = incident_id or new_incident_id(clock())
        folder = root / ident
        if (folder / JOURNAL_NAME).exists():
            raise JournalError(f"incident {ident} already exists at {folder}")
        return cls(folder, clock=clock, actor=actor, redactor=redactor)

    @classmethod
    def open(
        cls,
        incident: str | Path,
        state_dir: Path | None = None,
        *,
        clock: Clock = utc_now,
        actor: Actor | None = None,
        redactor: Redactor | None = None,
    ) -> Journal:
        """Open an existing incident (ID, folder or journal path) to append to it."""
        folder = Path(incident)
        if folder.name == JOURNAL_NAME:
            folder = folder.parent
        elif not folder.is_dir():
            root = incidents_dir(state_dir if state_dir is not None else _default_state_dir())
            folder = root / str(incident)
        if not (folder / JOURNAL_NAME).is_file():
            raise JournalError(f"unknown incident: {incident} (no {JOURNAL_NAME} in {folder})")
        return cls(folder, clock=clock, actor=actor, redactor=redactor)

    def _locked_message(self) -> str:
        owner = "unknown pid on unknown host"
        try:
            info = json.loads((self.folder / OWNER_NAME).read_text(encoding="utf-8"))
            owner = f"pid {info.get('pid')} on host {info.get('host')}"
        except (OSError, ValueError, AttributeError):
            pass
        return f"incident {self.incident_id} is open in another cockpit ({owner})"

    def _write_owner(self) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "user": self.actor.user,
            "since": format_time(self._clock()),
        }
        fd = os.open(self.folder / OWNER_NAME,
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(info))

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _lock_file(self) -> None:
        """Open the journal and lock the file itself: ``journal.lock`` can be deleted, the
        lock on the journal's own inode cannot be bypassed that way."""
        self._existed = self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalLockedError(self._locked_message()) from None
        self._fd = fd

    def _open_file(self) -> None:
        fd = self._fd
        assert fd is not None
        os.fchmod(fd, 0o600)
        if not self._existed:
            _fsync_dir(self.folder)
        raw = self.path.read_bytes()
        try:
            parsed = split_journal(raw)
        except ValueError as exc:
            raise JournalCorruptError(f"{self.folder}/{exc}") from None
        # a chain that forks, or a journal shorter than (or other than) what it signed;
        # a new, empty journal with no checkpoints beside it has nothing to contradict
        # (and a new incident's start-up need not import the verifier)
        problem = None
        if parsed.records or os.path.lexists(self.folder / _CHECKPOINTS_NAME):
            from cockpit.timeline.verify import check_checkpoints, check_records

            problem = check_records(parsed.records) or check_checkpoints(self.folder,
                                                                         parsed.records)
        if problem is not None:
            raise JournalCorruptError(
                f"{self.folder}/{problem.describe()}; run `cockpit timeline verify "
                f"{self.incident_id}`"
            )
        self._events = list(parsed.events)
        if parsed.torn_line is not None:
            aside = self._set_aside(parsed.torn_bytes)
            os.ftruncate(fd, parsed.good_size)
            os.fsync(fd)
            self.torn = TornLine(parsed.torn_line, len(parsed.torn_bytes), aside)
        self._size = parsed.good_size

    def _set_aside(self, data: bytes) -> Path:
        n = 1
        while (self.folder / f"journal.torn-{n}").exists():
            n += 1
        target = self.folder / f"journal.torn-{n}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.folder)
        return target

    # -- reading --------------------------------------------------------------------------

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event in the journal, oldest first."""
        return tuple(self._events)

    @property
    def head(self) -> str:
        """The hash of the last event (64 zeros when empty)."""
        return self._events[-1].hash if self._events else GENESIS

    @property
    def seq(self) -> int:
        """The sequence number of the last event (0 when empty)."""
        return self._events[-1].seq if self._events else 0

    def __iter__(self) -> Iterator[Event]:
        return iter(tuple(self._events))

    # -- writing --------------------------------------------------------------------------

    def append(self, kind: str, data: Mapping[str, Any] | None = None) -> Event:
        """Redact ``data``, write one event, flush and fsync; return the stored event.

        Raises :class:`JournalWriteError` if the event could not be made durable;
        the journal then holds exactly the events it held before the call.
        """
        if self._fd is None:
            raise JournalWriteError(f"incident {self.incident_id}: journal is closed")
        if not kind or not isinstance(kind, str):
            raise ValueError("event kind must be a non-empty string")
        cleaned = self.redactor.redact(dict(data or {}))
        counts = Counter(cleaned.counts)
        # the kind is caller text too: it must not smuggle anything into the record
        kind = self.redactor.redact_text(kind, counts)
        record: dict[str, Any] = {
            "seq": self.seq + 1,
            "t": format_time(self._clock()),
            "kind": kind,
            "actor": self.actor.to_dict(),
            "data": cleaned.value,
            "prev": self.head,
        }
        if counts:
            record["redactions"] = dict(sorted(counts.items()))
        try:
            record["hash"] = event_hash(record)
            line = (canonical_json(record) + "\n").encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise JournalWriteError(
                f"incident {self.incident_id}: {kind} event data is not JSON-serialisable ({exc})"
            ) from exc
        self._write_durably(line, kind)
        event = Event.from_dict(record)
        self._events.append(event)
        return event

    def record_sample(self, metric: str, value: float,
                      at: datetime | None = None) -> Event | None:
        """Append a ``sample`` event unless ``metric`` was sampled less than 10 s ago.

        ``at`` is the sample's own time (a metric point's), recorded when given."""
        now = self._clock()
        last = self._last_sample.get(metric)
        if last is not None and (now - last).total_seconds() < SAMPLE_INTERVAL_S:
            return None
        data: dict[str, Any] = {"metric": metric, "value": value}
        if at is not None:
            data["at"] = format_time(at)
        event = self.append("sample", data)
        self._last_sample[metric] = now
        return event

    def _write_durably(self, line: bytes, kind: str) -> None:
        assert self._fd is not None
        fd = self._fd
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            self._roll_back(fd)
            reason = exc.strerror or str(exc)
            raise JournalWriteError(
                f"incident {self.incident_id}: could not record {kind} in {self.path}: {reason}; "
                "nothing was recorded - do not proceed as if it were"
            ) from exc
        self._size += len(line)

    def _roll_back(self, fd: int) -> None:
        """Cut a partial write off so the file ends at the last whole event."""
        try:
            os.ftruncate(fd, self._size)
            os.fsync(fd)
        except OSError:
            # The next open will find a torn last line and set it aside.
            pass

    def close(self) -> None:
        """Close the file and release the single-writer lock (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            try:
                (self.folder / OWNER_NAME).unlink()
            except OSError:
                pass
            self._lock.release()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._fd is None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

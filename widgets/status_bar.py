"""The status bar: the cockpit's latest message on one line, above the key bar.

Toasts covered the runbook pane and the modals the engineer was answering. The cockpit's
messages (a step finished, a refusal, a coach hint, the journal failing) are said here
instead, with their severity in words (``! ERROR``, ``! WARNING``, ``INFO``: never colour
alone), and kept in a short :class:`MessageLog` the timeline pane shows under
``messages``. They are not recorded: the journal is the incident's record, and these are
the cockpit talking to the person at this keyboard (most repeat an event that is
recorded; a follower's refusals are its own; recording them would make a war-room run
write what a headless run of the same inputs does not).

A message ages out after its timeout: one timer per message shown (a new message
replaces it), and the row is cleared once; nothing repaints while nothing is said.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from textual.content import Content
from textual.timer import Timer

from cockpit.timeline.redact import redact_text
from widgets.lines import Lines

#: The severity of a message in words, then the style that repeats it.
SEVERITY_WORDS: dict[str, tuple[str, str]] = {
    "error": ("! ERROR", "bold reverse $error"),
    "warning": ("! WARNING", "bold $warning"),
    "information": ("INFO", "bold $accent"),
}
#: How many characters of a message are kept (the rest is cut, and says so).
MESSAGE_LIMIT = 500
#: How many messages the log keeps (the oldest go first).
LOG_SIZE = 200
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True)
class CockpitMessage:
    """Something the cockpit said: neutralised, redacted and bounded when made."""

    text: str
    severity: str = "information"
    title: str = ""
    at: datetime | None = None
    """The incident clock's time when it was said."""
    timeout_s: float = 10.0
    number: int = 0
    """Its place in the log (1 for the first message)."""

    @classmethod
    def make(cls, text: str, *, severity: str = "information", title: str = "",
             at: datetime | None = None, timeout_s: float | None = None,
             number: int = 0) -> CockpitMessage:
        """A message from untrusted parts (step titles, server errors): one line, no
        escape sequences, nothing secret or patient-identifying, at most
        :data:`MESSAGE_LIMIT` characters."""
        def clean(value: str) -> str:
            return _BLANKS.sub(" ", redact_text(str(value))).strip()

        body = clean(text)
        if len(body) > MESSAGE_LIMIT:
            body = body[: MESSAGE_LIMIT - 1] + "…"
        if severity not in SEVERITY_WORDS:
            severity = "information"
        timeout = timeout_s if timeout_s is not None else (
            30.0 if severity == "error" else 10.0)
        return cls(body, severity, clean(title)[:60], at, timeout, number)

    @property
    def word(self) -> str:
        """``! ERROR``, ``! WARNING`` or ``INFO``."""
        return SEVERITY_WORDS[self.severity][0]

    @property
    def line(self) -> str:
        """``title: text`` (or the text alone)."""
        return f"{self.title}: {self.text}" if self.title else self.text


@runtime_checkable
class Says(Protocol):
    """A screen that says messages itself (the war room: on its status bar); a widget
    holding only a screen hands it what it has to say instead of toasting it."""

    def say(self, message: str, *, severity: str = "information", title: str = "",
            timeout: float | None = None) -> None:
        """Tell the engineer ``message``."""


class MessageLog:
    """The last :data:`LOG_SIZE` messages, oldest first (not the record: see the module)."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        self._messages: deque[CockpitMessage] = deque(maxlen=size)
        self.count = 0
        """How many messages were ever said (changes with every new one)."""

    def add(self, text: str, *, severity: str = "information", title: str = "",
            at: datetime | None = None, timeout_s: float | None = None) -> CockpitMessage:
        """Keep a new message and return it."""
        self.count += 1
        message = CockpitMessage.make(text, severity=severity, title=title, at=at,
                                      timeout_s=timeout_s, number=self.count)
        self._messages.append(message)
        return message

    def __iter__(self) -> Iterator[CockpitMessage]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def latest(self) -> CockpitMessage | None:
        """The last message said, if any."""
        return self._messages[-1] if self._messages else None

    def texts(self) -> list[str]:
        """Every kept message as ``title: text`` (what tests read)."""
        return [m.line for m in self._messages]


def message_row(message: CockpitMessage) -> Content:
    """``! WARNING  Cancelling undo…``: the severity word, then what was said."""
    word, style = SEVERITY_WORDS[message.severity]
    return Content.assemble((f" {word} ", style), " ", message.line)


class StatusBar(Lines):
    """One line: the latest message and its severity in words, until it ages out."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $boost;
        color: $text;
    }
    """

    shown: CockpitMessage | None = None
    """The message on the bar (``None`` once it aged out)."""
    _timer: Timer | None = None
    BLANK: ClassVar[Content] = Content("")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__([self.BLANK], id=id, classes=classes)

    def show_message(self, message: CockpitMessage) -> None:
        """Show ``message`` until its timeout (or the next message)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.shown = message
        self.show_rows([message_row(message)])
        if message.timeout_s > 0 and self.is_mounted:
            self._timer = self.set_timer(message.timeout_s, self.age_out)

    def age_out(self) -> None:
        """The message has been there long enough: the bar goes quiet."""
        self._timer = None
        self.shown = None
        self.show_rows([self.BLANK])

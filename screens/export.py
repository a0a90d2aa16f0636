"""Export the incident record (Markdown RCA, JSON, HTML) to a file, with its journal head."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cockpit.incident import ExportResult, IncidentSession

FORMATS: dict[str, str] = {
    "md": "Markdown RCA (the procedures' template)",
    "json": "JSON, the whole record",
    "html": "HTML report with charts, one file",
}


class ExportScreen(ModalScreen[None]):
    """Pick a format with m, j or h; the file goes to the incident folder (or ``directory``)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "export('md')", "Markdown", id="export.md"),
        Binding("j", "export('json')", "JSON", id="export.json"),
        Binding("h", "export('html')", "HTML", id="export.html"),
        Binding("escape,q", "close", "Close", id="export.close"),
    ]

    def __init__(self, session: IncidentSession, directory: Path | None = None) -> None:
        super().__init__()
        self.session = session
        self.directory = directory
        self.last_result: ExportResult | None = None
        """The last export written (tests and the app read it)."""

    def compose(self) -> ComposeResult:
        where = self.directory if self.directory is not None else self.session.folder
        menu = "\n".join(f"  [b]{fmt[0]}[/b]  {label}" for fmt, label in FORMATS.items())
        with Vertical(id="export-box"):
            yield Static(f"[b]Export {escape(self.session.incident_id)}[/b]\n\n{menu}\n\n"
                         f"Into: {escape(str(where))}", id="export-menu")
            yield Static("", id="export-result")
            yield Static("m j h export   escape close", id="export-keys")

    def action_export(self, fmt: str) -> None:
        self.query_one("#export-result", Static).update(f"Writing {fmt}...")
        self._write(fmt)

    # Rendering a large incident takes a moment; keep the screen responsive meanwhile.
    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _write(self, fmt: str) -> ExportResult:
        return self.session.export_to(fmt, self.directory)

    @on(Worker.StateChanged)
    def _written(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "export":
            return
        result = self.query_one("#export-result", Static)
        if event.state == WorkerState.SUCCESS and isinstance(event.worker.result, ExportResult):
            done = event.worker.result
            self.last_result = done
            result.update(f"Wrote {escape(str(done.path))}\nJournal head {done.head_short}"
                          f" ({done.events} events)")
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            reason = getattr(error, "strerror", None) or str(error)
            result.update(f"[b]Export failed:[/b] {escape(reason)}")

    def action_close(self) -> None:
        self.dismiss(None)

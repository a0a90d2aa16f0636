"""Pods: one summary line per deployment, then a table of every pod."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from cockpit.domain import ClusterSnapshot
from widgets.source_panel import SourcePanel, format_age

COLUMNS = ("POD", "REV", "VERSION", "READY", "RESTARTS", "STATUS", "AGE")


class PodsPanel(SourcePanel):
    """Deployments (revision, version, ready/desired) and a keyboard-scrollable pod table."""

    PANEL_TITLE = "Pods"

    DEFAULT_CSS = """
    PodsPanel { height: 1fr; }
    PodsPanel > #pods-summary { height: auto; }
    PodsPanel > DataTable { height: 1fr; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="pods-summary")
        table: DataTable[str | Text] = DataTable(
            id="pods-table", cursor_type="row", zebra_stripes=False
        )
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)

    def show_snapshot(self, snapshot: object) -> None:
        assert isinstance(snapshot, ClusterSnapshot)
        summary = Text()
        for index, dep in enumerate(snapshot.deployments):
            if index:
                summary.append("  ")
            complete = dep.ready >= dep.desired and dep.updated >= dep.desired
            summary.append(f"{dep.name} ", "bold")
            summary.append(f"{dep.ready}/{dep.desired}", "green" if complete else "bold yellow")
            summary.append(f" r{dep.revision} v{dep.version}")
            if not complete:
                summary.append(" ROLLING", "bold yellow")
        self.query_one("#pods-summary", Static).update(summary)

        table = self.query_one(DataTable)
        rows = []
        for pod in snapshot.pods:
            ready = Text("1/1", "green") if pod.ready else Text("0/1 NOT READY", "bold yellow")
            restarts = Text(str(pod.restarts), "bold red" if pod.restarts else "")
            status = pod.phase if not pod.reason else f"{pod.phase} {pod.reason}"
            rows.append((pod.name, (str(pod.revision), pod.version, ready, restarts, status,
                                    format_age(pod.age_s))))
        keys = [name for name, _ in rows]
        current = [row.key.value for row in table.ordered_rows]
        if keys == current:
            for name, cells in rows:
                for column, value in zip(COLUMNS[1:], cells, strict=True):
                    table.update_cell(name, column, value)
        else:
            cursor = table.cursor_row
            table.clear()
            for name, cells in rows:
                table.add_row(name, *cells, key=name)
            if rows:
                table.move_cursor(row=min(cursor, len(rows) - 1))

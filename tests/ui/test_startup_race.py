"""A source that answers before the war room has composed must not take it down.

On a slow bastion (or a busy CI machine) the pollers' first answers can reach the app
before the war room's panels exist, or while they are being composed. The runtime holds
every status; a panel that is not mounted yet draws the latest one when it mounts.
"""

from __future__ import annotations

from pilot_wait import settle, wait_until
from textual.app import App, ComposeResult

from cockpit.app import make_sim_app
from cockpit.domain import SOURCE_KINDS
from cockpit.sim.sources import SimSource
from cockpit.sources.base import SourceStatus
from widgets.database_panel import DatabasePanel
from widgets.lines import Lines


def _text(panel: DatabasePanel) -> str:
    """What the panel's body says, as plain text."""
    return panel.query_one("#db-body", Lines).plain + "\n"


def _status_now(app, kind: str) -> SourceStatus:  # type: ignore[no-untyped-def]
    source = SimSource(kind, app.estate)
    return SourceStatus(kind, "simulated", "ok", source.fetch(), last_ok=0.0, checked=0.0)


async def test_updates_before_and_during_composition_are_shown_not_fatal() -> None:
    app = make_sim_app("db-connection-exhaustion", start_clock=False, advance_s=600)
    # before the app runs at all: every kind already has a status in the runtime
    for kind in SOURCE_KINDS:
        app.runtime.feed(_status_now(app, kind))
    # and while the war room composes: the pollers answer at once, every millisecond
    for source in app.sources:
        source.interval_s = 0.001  # type: ignore[misc]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#database", DatabasePanel)
        await wait_until(pilot, lambda: "conn errors" in _text(panel),
                         "the database panel's first data")
        body = _text(panel)
        assert "connections" in body and "OVER 25%" in body
        assert app.return_code is None  # still running: nothing crashed


class _OnePanel(App[None]):
    def __init__(self, panel: DatabasePanel) -> None:
        super().__init__()
        self.panel = panel

    def compose(self) -> ComposeResult:
        yield self.panel


async def test_a_panel_given_a_status_before_it_is_mounted_draws_it_when_it_mounts() -> None:
    sim = make_sim_app("db-connection-exhaustion", start_clock=False, advance_s=600)
    panel = DatabasePanel()
    panel.show_status(_status_now(sim, "database"))  # not mounted: no body yet, no crash
    app = _OnePanel(panel)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "OVER 25%" in _text(panel)
        assert "simulated" in str(panel.border_subtitle)
    sim.runtime.disconnect()


async def test_o_pressed_before_the_runbook_library_is_read_opens_the_picker_when_it_is() -> None:
    import threading

    from screens.runbook_picker import RunbookPicker

    app = make_sim_app("bad-deploy", start_clock=False, advance_s=420)
    release = threading.Event()
    read = app.runtime.runbook_library

    def slow_library():  # type: ignore[no-untyped-def]
        release.wait(30)  # a slow disk, a loaded bastion
        return read()

    app.runtime.runbook_library = slow_library  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: any("picker opens when it is ready" in m.text
                                            for m in app.messages), "the wait to be said")
        assert not isinstance(app.screen, RunbookPicker)
        release.set()
        await wait_until(pilot, lambda: isinstance(app.screen, RunbookPicker),
                         "the picker, once the library is in")
        await pilot.press("escape")

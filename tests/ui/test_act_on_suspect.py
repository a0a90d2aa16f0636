"""The deployment to act on is one key away: once a trigger fires, the Pods panel marks
the deployment whose revision changed last before the breach SUSPECT (in words) and rests
its cursor there until the operator moves it, so `2` then `h` opens that deployment's
history at 80x24 (issue #14: the api's rollback in a few keystrokes)."""

from __future__ import annotations

from cockpit.app import make_sim_app
from screens.revision_history import RevisionHistory
from tests.ui.pilot_wait import wait_until
from widgets.pods_panel import PodsList, PodsPanel


def pods_text(app) -> str:  # type: ignore[no-untyped-def]
    lines = app.screen.query_one(PodsList)
    return "\n".join(lines.render_line(y).text for y in range(lines.size.height))


async def test_the_suspect_deployment_is_marked_and_under_the_cursor() -> None:
    # bad-deploy: api went to 2.0.0 a minute in; the error rate fires 5 minutes later
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=480)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        pods = app.screen.query_one(PodsPanel)
        await wait_until(pilot, lambda: pods.query_one(PodsList).suspect == "api",
                         "the api to be named the suspect")
        await wait_until(pilot, lambda: "SUSPECT" in pods_text(app), "the mark in words")
        row = next(line for line in pods_text(app).splitlines() if "SUSPECT" in line)
        assert row.lstrip().startswith(">api"), row  # the cursor rests on it
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, RevisionHistory),
                         "the api's revision history")
        assert app.screen.deployment == "api"  # type: ignore[attr-defined]


async def test_the_cursor_stays_where_the_operator_put_it() -> None:
    app = make_sim_app("bad-deploy", seed=7, start_clock=False, advance_s=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        pods = app.screen.query_one(PodsPanel)
        listing = pods.query_one(PodsList)
        await wait_until(pilot, lambda: len(listing.rows) > 3, "the pods")
        await pilot.press("end")  # the operator looks at the last pod
        chosen = listing.cursor_row
        app.runtime.advance(480)  # the error rate fires: api becomes the suspect
        app._refresh()  # noqa: SLF001 - what the tick does
        await wait_until(pilot, lambda: listing.suspect == "api", "the suspect")
        assert listing.cursor_row == chosen

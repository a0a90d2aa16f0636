"""The bad deploy's rollback of the api, from a fresh `cockpit` to the incident exported,
in at most 15 keystrokes and no dead end (issue #14), at 160x48 and at 80x24, on the real
command in tmux. Every character typed counts as a keystroke.

The operator sees the error rate fire, goes to the Pods panel (`2`: the cursor rests on
the deployment marked SUSPECT, the api), opens its history (`h`: the previous revision is
selected), undoes to it (`u`), types the target's name and the approver's, and exports
the RCA (`e`, `m`). The export says what ran: the undo to revision 7 and who approved it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tmux_terminal import Terminal, cockpit_bin, terminal  # noqa: F401 - pytest fixtures

BUDGET = 15


class Keys:
    """Sends keys to the terminal, counting them: a named key is one, a text one per
    character."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.count = 0

    def press(self, *keys: str) -> None:
        for key in keys:
            self.term.send(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.term.send("-l", text)
        self.count += len(text)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_the_api_rolled_back_and_exported_within_15_keystrokes(
        terminal, cockpit_bin, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    width, height = size
    term = terminal([str(cockpit_bin)], width=width, height=height, env={"NO_COLOR": "1"})
    keys = Keys(term)
    # the error rate fires (bad-deploy at x10: about half a minute)
    term.wait_for(lambda s: "FIRED" in s, timeout=90)

    keys.press("2")
    term.wait_for(lambda s: "SUSPECT" in s)
    keys.press("h")
    # read in a worker, it fills in: the running revision, and the one to return to
    # selected (the cursor's ▶)
    term.wait_for(lambda s: "Revision history · deployment/api" in s and "RUNNING" in s
                  and "▶ 7" in s)
    keys.press("u")
    term.wait_for(lambda s: "DESTRUCTIVE STEP" in s and "--to-revision=7" in s)
    keys.type("api")
    keys.press("Enter")
    keys.type("Dana")
    keys.press("Enter")
    term.wait_for(lambda s: "Roll api back to revision 7: done" in s, timeout=60)
    keys.press("Escape")
    term.wait_for(lambda s: "Revision history" not in s)
    keys.press("e")
    term.wait_for(lambda s: "Markdown RCA" in s)
    keys.press("m")
    term.wait_for(lambda s: "Wrote" in s)
    assert keys.count <= BUDGET, f"{keys.count} keystrokes"

    [folder] = [p for p in (Path(os.environ["COCKPIT_STATE_DIR"]) / "incidents").iterdir()
                if p.is_dir()]
    [report] = list(folder.glob("*.md"))
    rca = report.read_text(encoding="utf-8")
    assert "kubectl rollout undo deployment/api -n production --to-revision=7" in rca
    assert "Dana" in rca

"""The real `cockpit` in tmux with `[keys]` in the default config: the remapped keys act,
the old one does not, the help says the new key, and `:` opens the command palette."""

from __future__ import annotations

import re
from pathlib import Path

from tmux_terminal import cockpit_bin, terminal  # noqa: F401 - pytest fixtures


def test_remapped_keys_in_a_real_terminal(terminal, cockpit_bin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text('[keys]\ndecision.decide = "D"\napp.help = "f1,?"\n', encoding="utf-8")
    term = terminal([str(cockpit_bin)], width=80, height=24,
                    env={"NO_COLOR": "1", "COCKPIT_CONFIG_FILE": str(config)})
    term.wait_for(lambda s: "Error rate" in s and "SIM bad-deploy" in s)
    # d no longer decides: the help opens on f1 after it (a decision modal would have
    # taken the key), and says D beside Decide with the id [keys] names
    term.send("d")
    term.send("F1")
    screen = term.wait_for(lambda s: "Rollback Cockpit — keys" in s)
    assert "Record the decision" not in screen
    term.send("PageDown")  # 80x24: the help scrolls
    screen = term.wait_for(lambda s: " Decide " in s)
    [decide] = [line for line in screen.splitlines() if " Decide " in line]
    assert re.search(r"\s D\s+Decide\s", decide), decide
    assert "decision.decide" in decide
    term.send("Escape")
    term.wait_for(lambda s: "Rollback Cockpit — keys" not in s)
    term.send("D")
    term.wait_for(lambda s: "Record the decision" in s)
    term.send("Escape")
    term.wait_for(lambda s: "Record the decision" not in s)
    # k9s's ':' opens the palette; typing filters it, enter runs the action
    term.send(":")
    term.wait_for(lambda s: "Search for commands" in s and "app.quit" in s)
    term.send("-l", "note")
    term.wait_for(lambda s: "incident.note" in s)
    term.send("Enter")
    term.wait_for(lambda s: "What happened, what you saw, why" in s)
    term.send("Escape")
    term.wait_for(lambda s: "What happened, what you saw, why" not in s)
    term.send("q")
    term.wait_for(lambda s: "Leave the incident open" in s)
    term.send("l")
    term.wait_gone()

"""The real `cockpit` command in a real 80x24 terminal."""

from __future__ import annotations

from tmux_terminal import cockpit_bin, terminal  # noqa: F401 - pytest fixtures


def test_cockpit_opens_shows_every_panel_and_quits_with_q(terminal, cockpit_bin) -> None:  # type: ignore[no-untyped-def]
    term = terminal([str(cockpit_bin)], width=80, height=24, env={"NO_COLOR": "1"})
    first = term.wait_for(lambda s: "Error rate" in s and "simulated ·" in s
                          and "SIM bad-deploy" in s)
    for title in ("Error rate", "Latency p95", "Endpoints", "SIM bad-deploy"):
        assert title in first
    # every other panel is one key away; its title and its tab are on screen
    for key, title in (("2", "Pods"), ("3", "Database"), ("4", "Cache"), ("5", "Decision"),
                       ("6", "Runbook"), ("7", "Timeline")):
        assert f"{key} {title}" in first
        term.send(key)
        screen = term.wait_for(lambda s, t=title: f"─ {t} ─" in s or f"━ {t} ━" in s)
        assert title in screen
    # the timeline pane has the focus: p pins the newest event, marked in words (NO_COLOR)
    term.wait_for(lambda s: "incident opened" in s)
    term.send("p")
    term.wait_for(lambda s: "◆PIN" in s and "pinned for the RCA" in s)
    term.send("q")
    term.wait_for(lambda s: "Leave the incident open" in s)
    term.send("l")
    term.wait_gone()  # cockpit quits on q, l


def test_unknown_scenario_is_one_line_naming_valid_choices(cockpit_bin) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    result = subprocess.run([str(cockpit_bin), "train", "--scenario", "nope"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unknown scenario 'nope'" in lines[0] and "bad-deploy" in lines[0]

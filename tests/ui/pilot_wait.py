"""Waiting in pilot tests for the war room's first data (shared by the UI tests)."""

from __future__ import annotations

from typing import Any


async def settle(pilot: Any) -> None:
    """Until every configured source has answered once (or 4 s), then one more beat."""
    for _ in range(200):
        if pilot.app.has_first_data():
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)

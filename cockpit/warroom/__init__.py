"""The shared war room's foundation: the shared store and its followers (issue #15).

- :mod:`cockpit.warroom.store`: :class:`~cockpit.warroom.store.SharedStore`, one ordered,
  hash-chained event log per incident in a PostgreSQL database of its own, and the step
  leases with their fencing tokens.
- :mod:`cockpit.warroom.follow`: :class:`~cockpit.warroom.follow.Follower`, a thread that
  wakes on ``NOTIFY`` (or its poll interval) and catches up by sequence.

Blocking code: callers run it in threads. Nothing here imports the runtime or the UI.
"""

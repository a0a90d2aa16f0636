"""Runbooks as code: the model, the loader and checker, typed actions, executors and the engine.

Nothing here imports Textual: the app drives :class:`cockpit.runbook.engine.RunbookRun`
from a worker thread and shows what it reports.
"""

"""Runbooks as code: the model, the loader and checker, the step engine and the desk.

Nothing here imports Textual. :class:`cockpit.runbook.desk.RunbookDesk` owns an
incident's runs (:class:`cockpit.runbook.engine.RunbookRun`); the war room displays it
and asks it, headless training drives it directly.
"""

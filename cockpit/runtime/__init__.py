"""The incident runtime: the one owner of an incident in progress (Textual-free).

:class:`~cockpit.runtime.runtime.IncidentRuntime` owns the clock, the session and its
journal, the decision engine, the runbook desk, and in training the simulated estate and
the coach; :mod:`cockpit.runtime.build` builds one for each way a war room opens;
:mod:`cockpit.runtime.restore` rebuilds what was recorded (the engine's state, the
simulated estate's changes) from the reducer's state; :mod:`cockpit.runtime.notices` is
what it tells the display.
"""

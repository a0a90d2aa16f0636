"""Training walkthroughs: scenario rubric, scoring from the journal, autopilot and coach.

Core only (no Textual): :mod:`~cockpit.training.spec` reads a scenario's
``training:`` block, :mod:`~cockpit.training.session` runs a training incident
headless, :mod:`~cockpit.training.score` scores any journal,
:mod:`~cockpit.training.autopilot` plays the ideal response and
:mod:`~cockpit.training.coach` gives guided mode its hints.
"""

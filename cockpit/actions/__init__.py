"""Typed actions and the interface that runs them.

:mod:`cockpit.actions.types` resolves a step's action (variables substituted as whole
arguments, each value checked against what it names) into a
:class:`~cockpit.actions.types.ResolvedAction` with its exact ``preview()``;
:mod:`cockpit.actions.executor` is the :class:`~cockpit.actions.executor.Executor`
interface that the simulator (:mod:`cockpit.sim.executor`) and the real connectors
(:mod:`cockpit.connectors.executor`) implement, capabilities declared.
"""

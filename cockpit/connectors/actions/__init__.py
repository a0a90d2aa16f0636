"""The live executor's action handlers, one module per system.

:mod:`~cockpit.connectors.actions.kubernetes` (``k8s.*``),
:mod:`~cockpit.connectors.actions.postgres` (``pg.*``),
:mod:`~cockpit.connectors.actions.redis` (``redis.*``),
:mod:`~cockpit.connectors.actions.http` (``http.*``),
:mod:`~cockpit.connectors.actions.metrics` (``metrics.*``),
:mod:`~cockpit.connectors.actions.shell` (``shell``, ``wait`` and the process runner
``pg_dump`` shares) and :mod:`~cockpit.connectors.actions.notify` (``notify.*``, handed
to :class:`cockpit.notify.notifier.Notifier`). Each holds its own client, built on first
use. :class:`cockpit.connectors.executor.LiveExecutor` composes them and owns the
dispatch table; :mod:`~cockpit.connectors.actions.base` is what they share (the
:class:`~cockpit.connectors.actions.base.Call` of one action, the expected
:class:`~cockpit.connectors.actions.base.Fail`).
"""

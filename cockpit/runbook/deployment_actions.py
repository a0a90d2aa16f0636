"""One guarded action on a chosen deployment, run as a one-step runbook (no Textual).

From the revision history (the Pods panel, k9s's habit) the engineer undoes a
deployment to a chosen revision, scales it or restarts it. Each is a runbook of one
destructive step built here with every value written in (deployment, namespace,
revision or replicas), opened through the desk like any runbook
(:meth:`cockpit.runbook.desk.RunbookDesk.open_deployment_action`), so the one guarded
path applies unchanged: ``desk.request`` asks for the confirmation (the exact command,
the server's dry run, the target typed, the approver), ``desk.start`` records
``step.dry_run`` and ``step.started`` (its preview is the exact command, with
``--to-revision=N``) and runs it; a refusal or a read-only session is recorded.

The run's id says what it does, so a resumed incident rebuilds the runbook from the
record alone: ``act/<namespace>/<deployment>/undo-<revision>``, ``.../scale-<replicas>``,
``.../restart``, with ``/<n>`` from the second time the same action runs.
:func:`with_deployment_actions` gives a library that answers those ids (it lists only
its own runbooks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cockpit.actions.model import ActionSpec
from cockpit.runbook.engine import RunbookRun, StepState
from cockpit.runbook.model import Library, Phase, Runbook, Step

PREFIX = "act"
VERBS: tuple[str, ...] = ("undo", "scale", "restart")
STEP_TIMEOUT_S = 60.0
_NAME = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"
_ID = re.compile(rf"^{PREFIX}/(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/(?P<dep>{_NAME})/"
                 r"(?P<verb>undo|scale|restart)(?:-(?P<value>\d{1,6}))?"
                 r"(?:/(?P<n>[2-9]|[1-9]\d{1,3}))?$")


@dataclass(frozen=True)
class DeploymentAction:
    """An action on one deployment: undo to ``value`` (a revision), scale to ``value``
    (replicas) or restart (no value); ``n`` counts the same action run again."""

    verb: str
    namespace: str
    deployment: str
    value: int | None = None
    n: int = 1

    def __post_init__(self) -> None:
        if self.verb not in VERBS:
            raise ValueError(f"unknown deployment action {self.verb!r}")
        if (self.verb == "restart") != (self.value is None):
            takes = "no value" if self.verb == "restart" else "a value"
            raise ValueError(f"{self.verb} takes {takes}")
        if not _ID.match(self._id()):
            raise ValueError(f"not a deployment or namespace name: {self.namespace}/"
                             f"{self.deployment}")

    def _id(self) -> str:
        value = "" if self.value is None else f"-{self.value}"
        again = f"/{self.n}" if self.n > 1 else ""
        return f"{PREFIX}/{self.namespace}/{self.deployment}/{self.verb}{value}{again}"

    @property
    def runbook_id(self) -> str:
        """The run's id: what it does, readable and rebuilt from the record."""
        return self._id()

    @property
    def step_id(self) -> str:
        """The one step's id: the verb."""
        return self.verb

    def again(self) -> DeploymentAction:
        """The same action, one more time (a new run: the last one's step has ended)."""
        return DeploymentAction(self.verb, self.namespace, self.deployment, self.value,
                                self.n + 1)

    @property
    def title(self) -> str:
        """What the run does, in words."""
        if self.verb == "undo":
            return f"Roll {self.deployment} back to revision {self.value}"
        if self.verb == "scale":
            return f"Scale {self.deployment} to {self.value} replicas"
        return f"Restart the pods of {self.deployment} (rolling)"

    def runbook(self) -> Runbook:
        """The one-step runbook (its values written in: no variable of the incident or the
        config can change which deployment it acts on)."""
        d, ns = self.deployment, self.namespace
        if self.verb == "undo":
            spec = ActionSpec("k8s.rollout_undo", {"deployment": d, "namespace": ns,
                                                   "to_revision": self.value})
            why = ("Kubernetes re-applies that revision's pod template (a new revision) and "
                   "replaces the pods gradually.")
        elif self.verb == "scale":
            spec = ActionSpec("k8s.scale", {"deployment": d, "namespace": ns,
                                            "replicas": self.value})
            why = "Sets the desired replicas; scaling to zero stops every pod of it."
        else:
            spec = ActionSpec("k8s.rollout_restart", {"deployment": d, "namespace": ns})
            why = "New pods replace the old ones one by one, on the same template."
        step = Step(self.verb, self.title, why, "action", spec, destructive=True,
                    timeout_s=STEP_TIMEOUT_S, on_failure="stop", target=d)
        return Runbook(self.runbook_id, self.title,
                       f"{self.title} in {ns}: one guarded action, opened from the Pods "
                       "panel's revision history.",
                       (Phase("Act", (step,)),),
                       source="Pods panel: an action on the deployment under the cursor")


def parse_id(runbook_id: str) -> DeploymentAction | None:
    """The action a run id names, or ``None`` for any other runbook."""
    match = _ID.match(runbook_id)
    if match is None:
        return None
    verb, value = match["verb"], match["value"]
    if (verb == "restart") != (value is None):
        return None
    try:
        return DeploymentAction(verb, match["ns"], match["dep"],
                                None if value is None else int(value), int(match["n"] or 1))
    except ValueError:
        return None


class _WithActions(Mapping[str, Runbook]):
    """The library's runbooks, and the deployment actions by their ids (not listed)."""

    def __init__(self, runbooks: Mapping[str, Runbook]) -> None:
        self._runbooks = runbooks

    def __getitem__(self, runbook_id: str) -> Runbook:
        found = self._runbooks.get(runbook_id)
        if found is not None:
            return found
        action = parse_id(runbook_id)
        if action is None:
            raise KeyError(runbook_id)
        return action.runbook()

    def __iter__(self) -> Iterator[str]:
        return iter(self._runbooks)

    def __len__(self) -> int:
        return len(self._runbooks)


def with_deployment_actions(library: Library) -> Library:
    """``library``, answering the deployment actions' ids as well (the picker, which lists
    the library, still lists only its runbooks)."""
    if isinstance(library.runbooks, _WithActions):
        return library
    return Library(MappingProxyType(_WithActions(library.runbooks)))


def fresh(action: DeploymentAction, runs: Mapping[str, RunbookRun]) -> DeploymentAction:
    """The run to open for ``action``: its own while it is not open or its step waits to
    start (a confirmation cancelled), else the same action again (a new run, ``/2``...)."""
    while True:
        run = runs.get(action.runbook_id)
        if run is None or run.state(action.step_id).state is StepState.READY:
            return action
        action = action.again()

"""Every kind of journal event, named once, and the rules that interpret them.

The journal stores kinds as strings (``"step.finished"``); code names them through
:class:`EventKind` so a misspelt kind is an ``AttributeError``, not a silent miss, and
``grep EventKind.STEP_FINISHED`` finds every writer and the one reader (the reducer,
:mod:`cockpit.timeline.replay`). The few rules that read meaning into an event's data
("is this a decision to roll back?") live here too, so there is one of each.
"""

from __future__ import annotations

import re
from enum import StrEnum


class EventKind(StrEnum):
    """A journal event's ``kind``."""

    # the incident
    INCIDENT_OPENED = "incident.opened"
    """scenario, environment, mode (training|live), title, config?, read_only?"""
    INCIDENT_DECLARED = "incident.declared"
    """severity, by: the first severity set declares the incident."""
    INCIDENT_CLOSED = "incident.closed"
    OPERATOR_DISCONNECTED = "operator.disconnected"
    OPERATOR_RESUMED = "operator.resumed"
    # the decision engine's history (each carries ``at``, the engine's time of the change)
    TRIGGER_CHANGED = "trigger.changed"
    """trigger, state, previous, metric, value, action, window_start, fired_at, decide_by..."""
    RECOMMENDATION_CHANGED = "recommendation.changed"
    """recommendation, pending, reasons"""
    SEVERITY_SUGGESTED = "severity.suggested"
    SEVERITY_SET = "severity.set"
    """severity (None: back to the suggested one), by"""
    TREE_ANSWERED = "tree.answered"
    """question, answer (yes|no), by"""
    DECISION_RECORDED = "decision.recorded"
    """decision (rollback|hot_fix|no_action), reasons, by"""
    # runbooks
    RUNBOOK_OPENED = "runbook.opened"
    RUNBOOK_ABORTED = "runbook.aborted"
    RUNBOOK_VARIABLES = "runbook.variables"
    """runbook, variables: the operator's values for this run"""
    STEP_STARTED = "step.started"
    """runbook, step, title, preview, destructive, confirmed_target?, approver?"""
    STEP_FINISHED = "step.finished"
    """runbook, step, outcome (done|failed|cancelled), duration_s, output, output_sha256,
    reason?, notified?"""
    STEP_SKIPPED = "step.skipped"
    STEP_INTERRUPTED = "step.interrupted"
    """written once, by the session's resume, for a step started and never finished"""
    STEP_REFUSED = "step.refused"
    """runbook, step, reason, code, by: an attempt a guard or a confirmation refused (code:
    ``cockpit.runbook.desk.Refusal``, e.g. ``guard`` or ``running``; absent in older records)"""
    STEP_DRY_RUN = "step.dry_run"
    """runbook, step, result, by: what the server said before the engineer confirmed"""
    APPROVAL_RECORDED = "approval.recorded"
    FACT_ESTABLISHED = "fact.established"
    ACTION_OFF_BOOK = "action.off_book"
    """argv, by: a command run outside any runbook (training: a mistake)"""
    # the armed automatic rollback (the procedures' "automatic rollback" rows)
    ROLLBACK_ARMED = "rollback.armed"
    """triggers, by, authority?, hold_s: a rollback runs after a hold when one fires"""
    ROLLBACK_DISARMED = "rollback.disarmed"
    """by"""
    ROLLBACK_HOLD_STARTED = "rollback.hold_started"
    """trigger, fired_at, at, ends_at, deployment?, namespace?, to_revision?, command,
    why, automatic, blocked: an armed trigger fired; the hold counts down"""
    ROLLBACK_HOLD_CANCELLED = "rollback.hold_cancelled"
    """trigger, by, at: nothing runs"""
    ROLLBACK_HOLD_CONFIRMED = "rollback.hold_confirmed"
    """trigger, by, how (confirmed|timeout), approver, at: the rollback starts through the
    runbook desk, the arming as its confirmation and the armer as its approver"""
    ROLLBACK_HOLD_LAPSED = "rollback.hold_lapsed"
    """trigger, reason, at: the hold ended and nothing ran automatically (no suspect, an
    authority the armer does not have, a refusal)"""
    # the record
    NOTE_ADDED = "note.added"
    STATUS_UPDATE = "status.update"
    NOTIFICATION_QUEUED = "notification.queued"
    NOTIFICATION_DELIVERED = "notification.delivered"
    NOTIFICATION_FAILED = "notification.failed"
    NOTIFICATION_ABANDONED = "notification.abandoned"
    """channel, id, outcome (abandoned|dropped), reason, attempts: the outbox stopped trying"""
    EVENT_PINNED = "event.pinned"
    """seq, by: an event of the timeline marked for the RCA (as incident.io pins)"""
    EVENT_UNPINNED = "event.unpinned"
    """seq, by: the mark taken off again"""
    NOTIFICATION_ATTESTED = "notification.attested"
    """target, how, by: the operator attests telling a target themselves (by phone...),
    a labelled fact of its own that a notified guard accepts, never a delivery"""
    SOURCE_STALE = "source.stale"
    SOURCE_RECOVERED = "source.recovered"
    BACKUP_LEFTOVER_REMOVED = "backup.leftover_removed"
    """path, size_bytes, pid: an interrupted backup's partial file, removed on resume"""
    SAMPLE = "sample"
    """metric, value: one per metric per 10 s at most, for the charts"""
    # training
    TRAINING_STARTED = "training.started"
    """mode, seed, speed, scenario: what a resume needs to rebuild the same estate"""
    TRAINING_MOVE = "training.move"
    TRAINING_OUTCOME = "training.outcome"
    SCORE_RECORDED = "score.recorded"
    SIM_EVENT = "sim.event"
    SIM_CONSEQUENCE = "sim.consequence"


_ROLLBACK_WORDS = re.compile(r"rollback|roll[ _-]back|undo", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:no|not|skip|avoid|without)[\s_-]*roll[ _-]?back", re.IGNORECASE)


def is_rollback_decision(decision: str) -> bool:
    """True if a recorded decision is to roll back (``rollback``, not ``no_rollback``)."""
    return bool(_ROLLBACK_WORDS.search(decision)) and not _NEGATED.search(decision)


def decision_kind(decision: str) -> str:
    """``rollback``, ``hot_fix`` or ``no_action`` for a recorded decision's text."""
    text = decision.lower()
    if is_rollback_decision(text):
        return "rollback"
    if "hot" in text or "fix" in text:
        return "hot_fix"
    return "no_action"


def mentions_rollback(text: str) -> bool:
    """True if a step's id, kind or action names a rollback (``undo``, ``roll back``)."""
    return bool(_ROLLBACK_WORDS.search(text))


#: The timeline pane's kind groups (its filter), in the order the filter key cycles them.
TIMELINE_GROUPS: tuple[str, ...] = ("all", "decisions", "steps", "notes", "sources")
#: Kinds that are plumbing on a timeline (one line each would bury the news): the charts'
#: samples, what a resume or the score needs, and the pins (a mark on the row they pin).
TIMELINE_HIDDEN = frozenset({
    EventKind.SAMPLE, EventKind.TRAINING_STARTED, EventKind.TRAINING_OUTCOME,
    EventKind.SCORE_RECORDED, EventKind.FACT_ESTABLISHED, EventKind.EVENT_PINNED,
    EventKind.EVENT_UNPINNED,
})
_DECISION_KINDS = frozenset({
    EventKind.INCIDENT_DECLARED, EventKind.TRIGGER_CHANGED, EventKind.RECOMMENDATION_CHANGED,
    EventKind.SEVERITY_SUGGESTED, EventKind.SEVERITY_SET, EventKind.TREE_ANSWERED,
    EventKind.DECISION_RECORDED, EventKind.APPROVAL_RECORDED,
    # the armed rollback: armed, held, cancelled or run (decisions taken ahead of time)
    EventKind.ROLLBACK_ARMED, EventKind.ROLLBACK_DISARMED, EventKind.ROLLBACK_HOLD_STARTED,
    EventKind.ROLLBACK_HOLD_CANCELLED, EventKind.ROLLBACK_HOLD_CONFIRMED,
    EventKind.ROLLBACK_HOLD_LAPSED,
})
_NOTE_KINDS = frozenset({EventKind.NOTE_ADDED, EventKind.STATUS_UPDATE})


def timeline_group(kind: str) -> str | None:
    """The timeline group of an event kind (``decisions``, ``steps``, ``notes``,
    ``sources`` or ``other``), or ``None`` for a kind the timeline leaves out."""
    if kind in TIMELINE_HIDDEN:
        return None
    if kind in _DECISION_KINDS or kind.startswith("rollback."):
        return "decisions"
    if kind.startswith(("step.", "runbook.")) or kind == EventKind.ACTION_OFF_BOOK:
        return "steps"
    if kind in _NOTE_KINDS or kind.startswith("notification."):
        return "notes"
    if kind.startswith("source."):
        return "sources"
    return "other"

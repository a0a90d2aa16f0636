"""The procedures' rollback decision tree ("Step 3: Rollback Decision"), as a pure function.

::

    Critical issue? --yes--> Immediate rollback
        | no
    User impact > 5%? --yes--> Rollback within 30 min
        | no
    Can fix forward? --yes--> Hot fix
        | no
    Rollback

Data answers the first two questions; an engineer answers "Can fix forward?" (and
"User impact > 5%?" only when there is no error-rate or health-check data).  The
tree is only walked when there is something to decide (an *issue*); otherwise the
outcome is ``NO_ACTION``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Answer",
    "RecommendationKind",
    "TreeInputs",
    "TreeResult",
    "TreeStep",
    "evaluate_tree",
    "suggest_severity",
]

Q_CRITICAL = "Critical issue?"
Q_IMPACT = "User impact > 5%?"
"""The key the engineer's answer is recorded under (stable across policies); the question
shown is :func:`impact_question` with the policy's threshold."""


def impact_question(above: float) -> str:
    """The impact question with the policy's threshold: ``User impact > 5%?``."""
    return f"User impact > {above:g}%?"
Q_FIX_FORWARD = "Can fix forward?"


class RecommendationKind(StrEnum):
    """Outcomes of the decision tree, plus "no action" and "awaiting an answer"."""

    IMMEDIATE_ROLLBACK = "immediate_rollback"
    ROLLBACK_WITHIN_30M = "rollback_within_30m"
    HOT_FIX = "hot_fix"
    ROLLBACK = "rollback"
    NO_ACTION = "no_action"
    AWAITING_ANSWER = "awaiting_answer"

    @property
    def label(self) -> str:
        """Upper-case wording for the cockpit's recommendation line."""
        return _LABELS[self]

    @property
    def headless(self) -> RecommendationKind:
        """The outcome for a run with no engineer (``cockpit evaluate``).

        Nobody can answer, so an unanswered question counts as "no": when the tree is
        waiting on "Can fix forward?" the outcome is ``ROLLBACK`` (the conservative
        choice for patient data); when it is waiting on "User impact > 5%?" both of
        its branches end in a rollback, so ``ROLLBACK`` again.
        """
        return RecommendationKind.ROLLBACK if self is RecommendationKind.AWAITING_ANSWER else self

    @property
    def is_rollback(self) -> bool:
        """True for the three outcomes that roll back."""
        return self in (
            RecommendationKind.IMMEDIATE_ROLLBACK,
            RecommendationKind.ROLLBACK_WITHIN_30M,
            RecommendationKind.ROLLBACK,
        )


_LABELS = {
    RecommendationKind.IMMEDIATE_ROLLBACK: "IMMEDIATE ROLLBACK",
    RecommendationKind.ROLLBACK_WITHIN_30M: "ROLLBACK WITHIN 30 MIN",
    RecommendationKind.HOT_FIX: "HOT FIX",
    RecommendationKind.ROLLBACK: "ROLLBACK",
    RecommendationKind.NO_ACTION: "NO ACTION",
    RecommendationKind.AWAITING_ANSWER: "AWAITING ANSWER",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """An engineer's answer to a question, with who gave it and when."""

    value: bool
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TreeInputs:
    """Everything the tree needs, already reduced from data and answers.

    ``critical`` and ``issue`` are reasons (empty = no); ``user_impact_pct`` is the max
    of the latest fresh error-rate and failing-health-check values (``None`` = no data).
    """

    critical: tuple[str, ...] = ()
    issue: tuple[str, ...] = ()
    user_impact_pct: float | None = None
    user_impact_above: float = 5.0
    impact_answer: Answer | None = None
    fix_forward: Answer | None = None


@dataclass(frozen=True, slots=True)
class TreeStep:
    """One question on the path taken: its answer (yes/no/unanswered) and who answered."""

    question: str
    answer: str
    by: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TreeResult:
    """The path through the tree, its outcome, the reasons, and the pending question if any."""

    path: tuple[TreeStep, ...]
    outcome: RecommendationKind
    reasons: tuple[str, ...]
    pending: str | None = None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def evaluate_tree(inputs: TreeInputs) -> TreeResult:
    """Walk the decision tree for ``inputs``; pure and cheap."""
    path: list[TreeStep] = []
    critical = bool(inputs.critical)
    path.append(TreeStep(Q_CRITICAL, _yes(critical), "data", "; ".join(inputs.critical)))
    if critical:
        return TreeResult(tuple(path), RecommendationKind.IMMEDIATE_ROLLBACK, inputs.critical)

    impact = inputs.user_impact_pct
    above = inputs.user_impact_above
    if impact is not None:
        impact_yes = impact > above
        detail = f"user impact {impact:g}% {'>' if impact_yes else '<='} {above:g}%"
        path.append(TreeStep(impact_question(above), _yes(impact_yes), "data", detail))
    elif inputs.impact_answer is not None:
        impact_yes = inputs.impact_answer.value
        detail = f"no error-rate or health-check data; answered by {inputs.impact_answer.by}"
        path.append(TreeStep(impact_question(above), _yes(impact_yes), inputs.impact_answer.by,
                             detail))
    elif not inputs.issue:
        return TreeResult(
            tuple(path),
            RecommendationKind.NO_ACTION,
            ("no trigger breaching or fired", "no error-rate or health-check data"),
        )
    else:
        detail = "no error-rate or health-check data"
        path.append(TreeStep(impact_question(above), "unanswered", "", detail))
        reasons = (*inputs.issue, detail, f"awaiting answer: is user impact > {above:g}%?")
        return TreeResult(tuple(path), RecommendationKind.AWAITING_ANSWER, reasons, "user_impact")

    if impact_yes:
        return TreeResult(
            tuple(path), RecommendationKind.ROLLBACK_WITHIN_30M, (*inputs.issue, detail)
        )
    if not inputs.issue:
        return TreeResult(
            tuple(path), RecommendationKind.NO_ACTION, ("no trigger breaching or fired", detail)
        )

    answer = inputs.fix_forward
    if answer is None:
        path.append(TreeStep(Q_FIX_FORWARD, "unanswered", ""))
        reasons = (*inputs.issue, detail, "awaiting answer: can we fix forward?")
        return TreeResult(tuple(path), RecommendationKind.AWAITING_ANSWER, reasons, "fix_forward")
    path.append(TreeStep(Q_FIX_FORWARD, _yes(answer.value), answer.by))
    said = f"fix forward: {_yes(answer.value)} ({answer.by})"
    outcome = RecommendationKind.HOT_FIX if answer.value else RecommendationKind.ROLLBACK
    return TreeResult(tuple(path), outcome, (*inputs.issue, detail, said))


def suggest_severity(
    *,
    critical: bool,
    user_impact_pct: float | None,
    manual_trigger_fired: bool,
    breaching: bool,
    issue: bool,
    impact_above: float = 5.0,
) -> str | None:
    """Suggest a severity from the manual-criteria table; ``None`` when there is no issue.

    Critical: an automatic/immediate-rollback trigger fired or patient safety is at risk.
    High: more than 20% of users affected, or a manual-decision trigger fired (their
    15-minute decision time is High's).  Medium: user impact over 5% or a trigger
    breaching.  Low: any other issue (for example a severity declared by hand).
    """
    if critical:
        return "critical"
    impact = user_impact_pct if user_impact_pct is not None else 0.0
    if impact > 20 or manual_trigger_fired:
        return "high"
    if impact > impact_above or breaching:
        return "medium"
    if issue:
        return "low"
    return None

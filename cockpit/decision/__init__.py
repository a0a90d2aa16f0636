"""The rollback decision engine: policy, trigger windows, decision tree, severity.

Pure core (no Textual): ``load_policy`` reads ``runbooks/policy.yaml``;
``DecisionEngine`` evaluates it continuously; ``evaluate_samples`` runs it headless.
"""

from cockpit.decision.engine import (
    DecisionDeadline,
    DecisionEngine,
    DecisionRecord,
    DecisionState,
    Recommendation,
    Record,
    RecordedDecisionState,
    RecordedTrigger,
    TriggerChange,
    TriggerState,
    TriggerStatus,
    UnknownInputError,
)
from cockpit.decision.policy import (
    Action,
    Policy,
    PolicyError,
    SeverityRule,
    TriggerSpec,
    default_policy_path,
    load_policy,
    parse_policy,
)
from cockpit.decision.tree import Answer, RecommendationKind, TreeStep

__all__ = [
    "Action",
    "Answer",
    "DecisionDeadline",
    "DecisionEngine",
    "DecisionRecord",
    "DecisionState",
    "Policy",
    "PolicyError",
    "Recommendation",
    "Record",
    "RecordedDecisionState",
    "RecordedTrigger",
    "RecommendationKind",
    "SeverityRule",
    "TreeStep",
    "TriggerChange",
    "TriggerSpec",
    "TriggerState",
    "TriggerStatus",
    "UnknownInputError",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]

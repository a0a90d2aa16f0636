"""The shipped runbook library: every procedure of the rollback document, loadable and safe.

These tests read ``runbooks/*.yaml`` with the real loader and check what an
engineer relies on during an incident: each procedure is there, each step
says why, database rollbacks are guarded by the data-loss-prevention rule,
the procedures' wrong commands are corrected (and say so), and no command
can smuggle in shell syntax.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cockpit.runbook import loader

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"

EXPECTED_IDS = {
    "incident-declaration", "initial-assessment", "frontend-blue-green", "frontend-kubernetes",
    "container-rollback",
    "backend-api", "service-mesh-traffic", "database-migration", "point-in-time-recovery",
    "selective-restore", "infrastructure-terraform", "kubernetes-cluster-state", "cdn-dns",
    "data-consistency", "application-state", "communication", "post-rollback-verification",
    "rca", "scenario-security-breach", "scenario-database-corruption",
    "scenario-performance-degradation", "scenario-integration-failure", "master-rollback",
}
#: Steps that roll a database back (or rewrite it): the data-loss-prevention rule applies.
DB_ROLLBACK_STEPS = {
    ("database-migration", "undo-migration"),
    ("point-in-time-recovery", "restore"),
    ("point-in-time-recovery", "switch-api"),
    ("point-in-time-recovery", "switch-workers"),
    ("selective-restore", "merge-students"),
    ("scenario-database-corruption", "reindex"),
    ("scenario-database-corruption", "vacuum-full"),
}
RUNTIME = {
    "incident_id": "INC-42", "reason": "bad deploy", "operator": "alice",
    "severity": "critical", "scenario": "bad-deploy", "now": "2025-01-21T14:30:00Z",
}


@pytest.fixture(scope="module")
def library() -> Any:
    return loader.load_library(RUNBOOKS)


def _filled(runbook: Any) -> dict[str, str]:
    """The runbook's variables with each REPLACE_ME_ placeholder set, as an operator would."""
    from cockpit.actions.types import PLACEHOLDER_PREFIX, effective_variables

    variables = effective_variables(runbook.variables, RUNTIME)
    return {k: v.removeprefix(PLACEHOLDER_PREFIX) for k, v in variables.items()}


def _preview(runbook: Any, step: Any) -> str:
    from cockpit.actions.types import resolve

    return resolve(step.action, _filled(runbook)).preview()


def _argv(runbook: Any, step: Any) -> tuple[str, ...]:
    from cockpit.actions.types import resolve

    argv = resolve(step.action, _filled(runbook)).argv()
    assert argv is not None
    return tuple(argv)


def _step(library: Any, runbook_id: str, step_id: str) -> Any:
    return library.get(runbook_id).step(step_id)


def _all_steps(library: Any) -> list[tuple[Any, Any]]:
    return [(rb, step) for rb in library for step in rb.steps]


# ---------------------------------------------------------------- the library as a whole


def test_every_file_passes_the_checker() -> None:
    assert loader.check_paths([RUNBOOKS]) == []


def test_ids_are_exactly_the_procedures(library: Any) -> None:
    assert {rb.id for rb in library} == EXPECTED_IDS
    shipped = {p.stem for p in RUNBOOKS.glob("*.yaml")} - {"policy"}
    assert shipped == EXPECTED_IDS


def test_every_runbook_names_its_source_and_when_it_applies(library: Any) -> None:
    from cockpit.runbook.model import parse_duration

    procedures = (ROOT.parent / "shared" / "procedures.md")
    headings = procedures.read_text(encoding="utf-8") if procedures.is_file() else ""
    for rb in library:
        assert rb.title and rb.summary and rb.source, rb.id
        assert rb.triggers, f"{rb.id} applies to no trigger"
        assert rb.phases and all(phase.steps for phase in rb.phases), rb.id
        for phase in rb.phases:
            assert phase.budget_s is not None and phase.budget_s > 0, (rb.id, phase.name)
        if headings:
            # the last part of the source is a heading of the procedures
            last = rb.source.split(";")[0].split(" > ")[-1]
            assert last in headings, f"{rb.id}: source heading '{last}' not in procedures.md"
    assert parse_duration("1h30m") == 5400


def test_every_step_explains_why(library: Any) -> None:
    for rb, step in _all_steps(library):
        assert step.why.strip(), f"{rb.id}/{step.id} has no why"
        assert len(step.why.split()) >= 5, f"{rb.id}/{step.id}: why is too thin"
        assert step.title.strip()


def test_every_step_previews_with_variables_resolved(library: Any) -> None:
    for rb, step in _all_steps(library):
        preview = _preview(rb, step)
        assert preview, f"{rb.id}/{step.id}"
        assert "${" not in preview, f"{rb.id}/{step.id}: unresolved variable in {preview!r}"


def test_shell_argv_never_holds_shell_syntax(library: Any) -> None:
    for rb, step in _all_steps(library):
        if step.action.type != "shell":
            continue
        for arg in step.action.params["argv"]:
            for token in (";", "&&", "|", "$("):
                assert token not in str(arg), f"{rb.id}/{step.id}: {token!r} in {arg!r}"
            assert not str(arg).startswith(">"), f"{rb.id}/{step.id}: redirection {arg!r}"


def test_verification_sql_files_exist_and_are_all_used(library: Any) -> None:
    used = set()
    for _rb, step in _all_steps(library):
        if step.action.type == "pg.verify":
            sql = step.action.params["sql_file"]
            assert (ROOT / sql).is_file(), f"{step.id}: {sql} missing"
            used.add(Path(sql).name)
        if step.action.type == "shell":
            used.update(Path(a).name for a in step.action.params["argv"]
                        if str(a).startswith("runbooks/sql/"))
    assert used == {p.name for p in (RUNBOOKS / "sql").glob("*.sql")}


def test_verification_sql_is_read_only_and_counts_only() -> None:
    for path in (RUNBOOKS / "sql").glob("*.sql"):
        code = "\n".join(line.split("--")[0] for line in path.read_text().splitlines()).upper()
        for word in ("INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "CREATE", "TRUNCATE",
                     "BEGIN", "COMMIT", "GRANT", "COPY"):
            assert not re.search(rf"\b{word}\b", code), f"{path.name} contains {word}"
        assert "AS CHECK_NAME" in code and "AS COUNT" in code, path.name
        assert "SELECT *" not in code, f"{path.name} must not return rows"
        assert code.strip().count(";") == 1, f"{path.name} must be one statement"
        # every row names its check where it is written (tools read the names from the file)
        assert code.count("AS CHECK_NAME") == code.count("UNION ALL") + 1, path.name


def test_cross_runbook_guards_point_at_real_steps(library: Any) -> None:
    for _rb, step in _all_steps(library):
        for ref in step.requires.steps:
            if "/" in ref:
                other, _, other_step = ref.partition("/")
                assert other_step in {s.id for s in library.get(other).steps}, ref


def test_placeholders_are_only_defaults_config_must_replace(library: Any) -> None:
    # a placeholder can never look like a real value: AWS rejects it, nothing runs
    for rb in library:
        for name, value in rb.variables.items():
            if "REPLACE_ME" in str(value):
                assert str(value).startswith("REPLACE_ME_"), (rb.id, name)


# ---------------------------------------------------------------- safety


def test_database_rollback_steps_carry_the_four_guards(library: Any) -> None:
    flagged = {(rb.id, step.id) for rb, step in _all_steps(library) if step.database_rollback}
    assert flagged >= DB_ROLLBACK_STEPS
    for rb, step in _all_steps(library):
        if (rb.id, step.id) not in DB_ROLLBACK_STEPS and not step.database_rollback:
            continue
        req = step.requires
        assert {"backup_taken", "no_data_loss_confirmed"} <= set(req.facts), (rb.id, step.id)
        assert "dba" in req.approvals, (rb.id, step.id)
        assert "compliance" in req.notified, (rb.id, step.id)
        assert step.destructive, (rb.id, step.id)


def test_database_rollback_guards_are_established_earlier_in_the_same_runbook(
    library: Any,
) -> None:
    from cockpit.runbook.loader import facts_established_by

    for runbook_id in {rid for rid, _ in DB_ROLLBACK_STEPS}:
        rb = library.get(runbook_id)
        ids = [s.id for s in rb.steps]
        first_guarded = min(ids.index(sid) for rid, sid in DB_ROLLBACK_STEPS if rid == runbook_id)
        before = rb.steps[:first_guarded]
        facts = {f for s in before for f in facts_established_by(s)}
        assert {"backup_taken", "no_data_loss_confirmed"} <= facts, runbook_id
        assert any(s.action.type == "pg.backup" for s in before), runbook_id
        assert any(s.action.type == "approval" and s.action.params["role"] == "dba"
                   for s in before), runbook_id
        assert any(s.action.type == "notify.email" and "compliance" in s.notifies
                   for s in before), runbook_id


def test_changes_that_are_hard_to_undo_are_destructive(library: Any) -> None:
    for rb, step in _all_steps(library):
        a = step.action
        statement = str(a.params.get("statement", "")).upper()
        hard = (
            a.type in ("k8s.rollout_undo", "k8s.traffic_weights", "redis.flushdb")
            or (a.type == "k8s.scale" and str(a.params["replicas"]) == "0")
            or statement.startswith("REINDEX")
            or statement.startswith("VACUUM FULL")
        )
        if a.type == "shell":
            text = " ".join(map(str, a.params["argv"]))
            hard = hard or any(w in text for w in (
                "iptables", "rotate-all-secrets", "modify-rule",
                "update-distribution", "change-resource-record-sets", "kubectl apply",
                "modify-instance-attribute", "restore-db-instance", "db:migrate:undo",
                "INSERT INTO", "DROP SCHEMA"))
            if a.params["argv"][0] == "terraform" and "apply" in a.params["argv"]:
                hard = True
        if hard:
            assert step.destructive, f"{rb.id}/{step.id} changes production but is not destructive"


def test_destructive_steps_in_a_sequence_are_guarded_by_a_check(library: Any) -> None:
    # every destructive step that switches traffic is preceded by a check it requires
    for runbook_id, step_id in (("frontend-blue-green", "switch-load-balancer"),
                                ("service-mesh-traffic", "shift-traffic"),
                                ("backend-api", "scale-down-new"),
                                ("infrastructure-terraform", "apply"),
                                ("kubernetes-cluster-state", "apply-previous-state")):
        step = _step(library, runbook_id, step_id)
        assert step.destructive and step.requires.steps, (runbook_id, step_id)


# ---------------------------------------------------------------- corrections of the procedures


def _notes(library: Any, runbook_id: str, step_id: str) -> str:
    return _step(library, runbook_id, step_id).notes


def test_kubectl_rollback_is_rollout(library: Any) -> None:
    rb = library.get("frontend-kubernetes")
    assert _preview(rb, rb.step("undo")) == "kubectl rollout undo deployment/frontend -n production"
    assert _preview(rb, rb.step("status")).startswith(
        "kubectl rollout status deployment/frontend -n production --timeout=")
    assert "kubectl rollback undo" in rb.step("undo").notes
    assert "kubectl rollback status" in rb.step("status").notes
    for other, step in _all_steps(library):
        assert "kubectl rollback" not in _preview(other, step)


def test_pg_stat_activity_is_a_count_query(library: Any) -> None:
    step = _step(library, "initial-assessment", "database-activity")
    assert step.action.type == "pg.verify"
    assert step.action.params["sql_file"].endswith("connection-activity.sql")
    assert "SELECT pg_stat_activity();" in step.notes and "not valid SQL" in step.notes
    sql = (RUNBOOKS / "sql" / "connection-activity.sql").read_text()
    assert "FROM pg_stat_activity" in sql
    for rb, other in _all_steps(library):
        assert "pg_stat_activity()" not in _preview(rb, other)


def test_vacuum_and_reindex_run_outside_transactions(library: Any) -> None:
    rb = library.get("scenario-database-corruption")
    reindex, vacuum = rb.step("reindex"), rb.step("vacuum-full")
    assert reindex.action.type == vacuum.action.type == "pg.sql"
    assert _argv(rb, reindex)[-2:] == ("-c", "REINDEX DATABASE whitecross_prod")
    assert _argv(rb, vacuum)[-2:] == ("-c", "VACUUM FULL ANALYZE")
    assert "transaction block" in reindex.notes and "transaction block" in vacuum.notes
    for _other, step in _all_steps(library):
        if step.action.type == "pg.sql":
            assert "BEGIN" not in step.action.params["statement"].upper()


def test_iptables_accept_rules_come_before_the_drop(library: Any) -> None:
    rb = library.get("scenario-security-breach")
    order = [s.id for s in rb.steps]
    rules: dict[str, list[tuple[int, int, str]]] = {"INPUT": [], "OUTPUT": []}
    for index, step in enumerate(rb.steps):
        argv = [str(a) for a in step.action.params.get("argv", ())]
        if "iptables" not in argv:
            continue
        assert argv[0] == "ssh", "iptables must run on the affected host, not the bastion"
        assert "-A" not in argv, "appended rules land after the DROP and are never reached"
        assert "0.0.0.0/0" not in argv
        i = argv.index("-I")
        rules[argv[i + 1]].append((int(argv[i + 2]), index, argv[-1]))
        assert step.destructive
    for chain, chain_rules in rules.items():
        accepts = [(pos, idx) for pos, idx, target in chain_rules if target == "ACCEPT"]
        drops = [(pos, idx) for pos, idx, target in chain_rules if target == "DROP"]
        assert len(accepts) == 2 and len(drops) == 1, chain
        drop_pos, drop_idx = drops[0]
        for pos, idx in accepts:
            assert pos < drop_pos and idx < drop_idx, f"{chain}: an ACCEPT lands after the DROP"
    # the guards enforce that order whatever the operator does
    for chain in ("in", "out"):
        drop = rb.step(f"iptables-drop-{chain}")
        assert set(drop.requires.steps) == {f"iptables-accept-established-{chain}",
                                             f"iptables-accept-internal-{chain}"}
    established = _preview(rb, rb.step("iptables-accept-established-in"))
    assert "--ctstate ESTABLISHED,RELATED -j ACCEPT" in established
    assert order.index("quarantine-security-group") < order.index("iptables-drop-in")
    assert "SSH session" in rb.step("iptables-accept-established-in").notes


def test_forensics_uses_a_volume_snapshot_not_dd(library: Any) -> None:
    rb = library.get("scenario-security-breach")
    step = rb.step("snapshot-volume")
    assert _preview(rb, step).startswith("aws ec2 create-snapshot --volume-id ")
    assert "dd if=/dev/vda" in step.notes and "inconsistent" in step.notes
    for other, s in _all_steps(library):
        assert not _preview(other, s).startswith("dd ")


def test_performance_check_does_not_compare_floats_with_gt(library: Any) -> None:
    rb = library.get("scenario-performance-degradation")
    wait = rb.step("wait-latency")
    assert wait.action.type == "metrics.wait_below"
    assert _preview(rb, wait) == "wait until latency_p95_ms < 1000 for 5m"
    assert "-gt" in wait.notes
    # the rollback only happens when latency did not recover
    assert rb.step("rollback-api").requires.facts == ("latency_not_recovered",)
    for other, step in _all_steps(library):
        assert "-gt" not in _preview(other, step)


def test_flushdb_is_destructive_and_explains_what_it_wipes(library: Any) -> None:
    rb = library.get("scenario-performance-degradation")
    flush = rb.step("clear-cache")
    assert flush.destructive
    for word in ("maintenance_mode", "rate-limit", "session"):
        assert word in flush.notes
    # the rate limit it deleted is set again after it
    order = [s.id for s in rb.steps]
    assert order.index("rate-limit-on-again") > order.index("clear-cache")
    assert _preview(rb, rb.step("rate-limit-on-again")).endswith("SET rate_limit_enabled true")


def test_selective_restore_notes_health_records_are_not_merged(library: Any) -> None:
    rb = library.get("selective-restore")
    merge = rb.step("merge-students")
    assert "ON CONFLICT (id) DO NOTHING" in _preview(rb, merge)
    assert "health_records" in merge.notes and "never merged" in merge.notes
    sql = (RUNBOOKS / "sql" / "restore-temp-counts.sql").read_text()
    assert "health_records_not_in_production" in sql
    order = [s.id for s in rb.steps]
    assert order.index("drop-temp-schema") > order.index("verify-merge")


def test_data_integrity_sql_is_corrected(library: Any) -> None:
    step = _step(library, "data-consistency", "data-integrity")
    assert "UNION" in step.notes and "lag()" in step.notes
    sql = (RUNBOOKS / "sql" / "verify-data-integrity.sql").read_text()
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    assert "lag(created_at)" in code
    assert "DATE_TRUNC" not in code.upper()
    for table in ("students", "health_records", "medications"):
        assert f"future_timestamps_{table}" in code


def test_point_in_time_recovery_stops_writes_instead_of_killing_connections(
    library: Any,
) -> None:
    rb = library.get("point-in-time-recovery")
    types = [s.action.type for s in rb.steps]
    assert "pg.terminate_connections" not in types
    order = [s.id for s in rb.steps]
    assert order.index("stop-api") < order.index("restore") < order.index("switch-api")
    assert "pg_terminate_backend" in rb.step("stop-api").notes
    switch = _preview(rb, rb.step("switch-api"))
    assert switch == "kubectl set env deployment/api DATABASE_HOST=prod-db-recovered -n production"
    restore = rb.step("restore").action.params["argv"]
    i = list(restore).index("--restore-time")
    assert restore[i + 1] == "${recovery_time}"  # one argument, never split by a shell
    assert "ISO 8601" in rb.step("restore").notes


def test_backups_are_custom_format_so_they_can_be_listed(library: Any) -> None:
    rb = library.get("database-migration")
    backup = _preview(rb, rb.step("backup"))
    assert backup.startswith("pg_dump -h prod-db -d whitecross_prod --format=custom")
    assert backup.endswith("/backups/emergency/rollback_INC-42.dump")
    assert _preview(rb, rb.step("verify-backup")) == (
        "pg_restore --list /backups/emergency/rollback_INC-42.dump")
    assert "plain `.sql`" in rb.step("verify-backup").notes


def test_master_rollback_notes_set_e_and_unset_variable(library: Any) -> None:
    rb = library.get("master-rollback")
    notes = " ".join(s.notes for s in rb.steps)
    assert "set -e" in notes and "VALIDATION_FAILED" in notes
    assert rb.variables["rollback_type"] == "full"
    for part, ref in (("part-frontend", "frontend-kubernetes/verify-pods"),
                      ("part-backend", "backend-api/verify-health"),
                      ("part-database", "database-migration/verify-data-integrity")):
        assert ref in rb.step(part).requires.steps
    db_part = rb.step("part-database").requires
    assert "dba" in db_part.approvals and "compliance" in db_part.notified
    assert _preview(rb, rb.step("smoke-tests")) == "npm run test:smoke"
    assert _preview(rb, rb.step("caller-identity")).startswith("aws sts get-caller-identity")
    assert _preview(rb, rb.step("backups-exist")) == "aws s3 ls s3://backups/production/latest/"


def test_gnu_date_is_not_used(library: Any) -> None:
    assert "date -d" in _notes(library, "communication", "email")
    for rb, step in _all_steps(library):
        if step.action.type == "shell":
            assert "date" not in step.action.params["argv"], f"{rb.id}/{step.id}"


def test_other_corrections(library: Any) -> None:
    blue_green = library.get("frontend-blue-green")
    switch = blue_green.step("switch-load-balancer")
    assert _preview(blue_green, switch).startswith("aws elbv2 modify-rule --rule-arn ")
    assert "modify-listener-rule" in switch.notes
    backend = library.get("backend-api")
    order = [s.id for s in backend.steps]
    assert order.index("scale-up-old") < order.index("verify-health") < order.index(
        "scale-down-new")
    assert order.index("schema-compatibility") < order.index("scale-up-old")
    assert backend.step("workers-undo").action.type == "k8s.rollout_undo"
    terraform = library.get("infrastructure-terraform")
    for step in terraform.steps:
        assert "-state=" not in _preview(terraform, step)
    assert "-state=terraform.tfstate.backup" in terraform.step("checkout-previous-config").notes
    cdn = library.get("cdn-dns")
    assert "ETAG" in cdn.step("get-etag").notes
    post = library.get("post-rollback-verification")
    assert " -d whitecross_prod " in _preview(post, post.step("data-check"))
    cluster = library.get("kubernetes-cluster-state")
    assert "--field-selector=status.phase!=Running" in _preview(
        cluster, cluster.step("pods-not-running"))


def test_the_picker_offers_the_procedure_in_order_when_the_error_rate_fires() -> None:
    from cockpit.paths import runbooks_dir
    from cockpit.runbook.loader import load_library
    from cockpit.runbook.recommend import recommend

    ranked = [rb.id for rb in recommend(load_library(runbooks_dir()), ["error_rate"])]
    assert ranked[:2] == ["incident-declaration", "initial-assessment"]
    rollbacks = ranked.index("frontend-kubernetes")
    assert rollbacks < ranked.index("post-rollback-verification") < ranked.index("rca")
    # runbooks for other triggers only (a breach, corruption) come after every match
    assert ranked.index("scenario-security-breach") > ranked.index("rca")

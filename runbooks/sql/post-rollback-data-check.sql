-- Post-rollback data check (procedures: "Post-Rollback Procedures > Immediate
-- Post-Rollback", step 5: scripts/post-rollback-data-check.sql).
--
-- Output: one row per check, (check_name text, count bigint); every count is a
-- number of problems, 0 means healthy. Counts only, read-only, one SELECT.
-- The procedures ran this with `psql -h prod-db -f ...` and no -d, which
-- connects to the database named after the user, not whitecross_prod: the
-- runbook step names the database explicitly.
SELECT 'orphaned_health_records'::text AS check_name, count(*)::bigint AS count
  FROM health_records hr
  LEFT JOIN students s ON s.id = hr.student_id
 WHERE s.id IS NULL
UNION ALL
SELECT 'missing_medications' AS check_name, count(*)
  FROM medication_administrations ma
  LEFT JOIN medications m ON m.id = ma.medication_id
 WHERE m.id IS NULL
UNION ALL
SELECT 'unencrypted_phi' AS check_name, count(*)
  FROM health_records
 WHERE encrypted_data IS NULL
UNION ALL
SELECT 'future_timestamps' AS check_name,
       (SELECT count(*) FROM students WHERE created_at > now())
     + (SELECT count(*) FROM health_records WHERE created_at > now())
     + (SELECT count(*) FROM medications WHERE created_at > now())
     + (SELECT count(*) FROM medication_administrations WHERE created_at > now())
UNION ALL
SELECT 'audit_gaps_over_5m' AS check_name, count(*)
  FROM (SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
          FROM audit_logs
         WHERE created_at > now() - interval '1 hour') AS gaps
 WHERE gaps.gap > interval '5 minutes'
UNION ALL
-- an index left invalid by an interrupted CREATE INDEX CONCURRENTLY / migration
SELECT 'invalid_indexes' AS check_name, count(*)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND NOT i.indisvalid
UNION ALL
-- sessions that have sat idle inside a transaction for 5 minutes hold locks
-- and block the re-enabled application
SELECT 'idle_in_transaction_over_5m' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE datname = current_database()
   AND state IN ('idle in transaction', 'idle in transaction (aborted)')
   AND state_change < now() - interval '5 minutes';

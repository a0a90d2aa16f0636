-- Recovery validation (procedures: "Point-in-Time Recovery", step 4,
-- scripts/validate-recovery.sql), run against the RECOVERED instance before
-- the application is switched to it.
--
-- Output: one row per check, (check_name text, count bigint). Counts only,
-- read-only, one SELECT.
-- * *_rows: row counts per table, for the DBA to compare with the figures
--   from before the incident (a table that came back empty is the classic
--   wrong-restore-time mistake).
-- * in_recovery: 1 while the instance is still replaying WAL / a replica;
--   must be 0 before it can take writes.
-- * the remaining checks are problems, 0 means healthy.
SELECT 'students_rows'::text AS check_name, count(*)::bigint AS count FROM students
UNION ALL
SELECT 'health_records_rows' AS check_name, count(*) FROM health_records
UNION ALL
SELECT 'medications_rows' AS check_name, count(*) FROM medications
UNION ALL
SELECT 'medication_administrations_rows' AS check_name, count(*) FROM medication_administrations
UNION ALL
SELECT 'audit_logs_rows' AS check_name, count(*) FROM audit_logs
UNION ALL
SELECT 'in_recovery' AS check_name, CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END
UNION ALL
SELECT 'orphaned_health_records' AS check_name, count(*)
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
SELECT 'invalid_indexes' AS check_name, count(*)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND NOT i.indisvalid;

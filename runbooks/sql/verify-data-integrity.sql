-- Data integrity verification (procedures: "Data Consistency Verification >
-- Post-Rollback Data Validation"), corrected.
--
-- Output: one row per check, (check_name text, count bigint). Every count is a
-- number of problem rows: 0 means healthy (`audit_log_silent_last_hour` is 1
-- when there is no audit entry at all in the last hour: then no gap can be
-- measured, and silence itself is the problem). Counts only: no row of patient data ever reaches the screen.
-- Read-only: a single SELECT, safe under default_transaction_read_only.
-- Tables are resolved through search_path (the application schema).
--
-- Corrections to the procedures' script:
-- * "Future timestamps" did SELECT * ... UNION ALL across tables with
--   different columns, which fails; each table is counted separately.
-- * "Audit gaps" grouped by minute, so it could never find a gap longer than
--   5 minutes inside one minute; gaps are now measured between consecutive
--   audit entries with lag() over created_at.
-- * The BEGIN/COMMIT wrapper added nothing to read-only queries; removed.
-- * Added: medication administrations whose student no longer exists.
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
SELECT 'orphaned_medication_administrations' AS check_name, count(*)
  FROM medication_administrations ma
  LEFT JOIN students s ON s.id = ma.student_id
 WHERE s.id IS NULL
UNION ALL
SELECT 'audit_log_silent_last_hour' AS check_name, CASE WHEN count(*) = 0 THEN 1 ELSE 0 END
  FROM audit_logs
 WHERE created_at > now() - interval '1 hour'
UNION ALL
SELECT 'audit_gaps_over_5m' AS check_name, count(*)
  FROM (SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
          FROM audit_logs
         WHERE created_at > now() - interval '1 hour') AS gaps
 WHERE gaps.gap > interval '5 minutes'
UNION ALL
SELECT 'unencrypted_phi' AS check_name, count(*)
  FROM health_records
 WHERE encrypted_data IS NULL
UNION ALL
SELECT 'future_timestamps_students' AS check_name, count(*) FROM students WHERE created_at > now()
UNION ALL
SELECT 'future_timestamps_health_records' AS check_name, count(*) FROM health_records WHERE created_at > now()
UNION ALL
SELECT 'future_timestamps_medications' AS check_name, count(*) FROM medications WHERE created_at > now();

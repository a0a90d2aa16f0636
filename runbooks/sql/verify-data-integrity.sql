-- Data integrity verification (procedures: "Data Consistency Verification >
-- Post-Rollback Data Validation"), corrected.
--
-- Output: one row per check, (check_name text, count bigint). Every count is a
-- number of problem rows: 0 means healthy, except `audit_entries_last_hour`,
-- which is context for `audit_gaps_over_5m` (no entries means no gaps can be
-- seen). Counts only: no row of patient data ever reaches the screen.
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
SELECT 'missing_medications', count(*)
  FROM medication_administrations ma
  LEFT JOIN medications m ON m.id = ma.medication_id
 WHERE m.id IS NULL
UNION ALL
SELECT 'orphaned_medication_administrations', count(*)
  FROM medication_administrations ma
  LEFT JOIN students s ON s.id = ma.student_id
 WHERE s.id IS NULL
UNION ALL
SELECT 'audit_entries_last_hour', count(*)
  FROM audit_logs
 WHERE created_at > now() - interval '1 hour'
UNION ALL
SELECT 'audit_gaps_over_5m', count(*)
  FROM (SELECT created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
          FROM audit_logs
         WHERE created_at > now() - interval '1 hour') AS gaps
 WHERE gaps.gap > interval '5 minutes'
UNION ALL
SELECT 'unencrypted_phi', count(*)
  FROM health_records
 WHERE encrypted_data IS NULL
UNION ALL
SELECT 'future_timestamps_students', count(*) FROM students WHERE created_at > now()
UNION ALL
SELECT 'future_timestamps_health_records', count(*) FROM health_records WHERE created_at > now()
UNION ALL
SELECT 'future_timestamps_medications', count(*) FROM medications WHERE created_at > now();

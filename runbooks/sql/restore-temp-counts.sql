-- Selective restore validation (procedures: "Selective Data Restoration",
-- step 3), run after the partial dump is loaded into schema restore_temp and
-- before anything is merged into production.
--
-- Output: one row per figure, (check_name text, count bigint). Counts only,
-- read-only, one SELECT. Production tables resolve through search_path.
-- * restore_temp_students / restore_temp_health_records: rows restored.
-- * students_to_merge: restored students whose id is not in production (what
--   INSERT ... ON CONFLICT (id) DO NOTHING will add).
-- * students_already_present: restored students skipped by ON CONFLICT.
-- * health_records_not_in_production: restored health records the procedures
--   count but never merge; if this is not 0, the DBA decides what to do.
SELECT 'restore_temp_students'::text AS check_name, count(*)::bigint AS count
  FROM restore_temp.students
UNION ALL
SELECT 'restore_temp_health_records' AS check_name, count(*) FROM restore_temp.health_records
UNION ALL
SELECT 'students_to_merge' AS check_name, count(*)
  FROM restore_temp.students r
 WHERE NOT EXISTS (SELECT 1 FROM students s WHERE s.id = r.id)
UNION ALL
SELECT 'students_already_present' AS check_name, count(*)
  FROM restore_temp.students r
 WHERE EXISTS (SELECT 1 FROM students s WHERE s.id = r.id)
UNION ALL
SELECT 'health_records_not_in_production' AS check_name, count(*)
  FROM restore_temp.health_records r
 WHERE NOT EXISTS (SELECT 1 FROM health_records h WHERE h.id = r.id);

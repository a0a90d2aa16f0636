-- Schema compatibility (procedures: "Backend Rollback > API Service Rollback",
-- step 4, scripts/verify-schema-compatibility.sql; also "Migration Rollback",
-- step 5, scripts/verify-schema.sql): can the previous application version
-- work with the schema as it is now?
--
-- Output: one row per check, (check_name text, count bigint); every count is a
-- number of problems, 0 means compatible. Counts only, read-only, one SELECT.
-- Tables are looked up in current_schema() (the application schema).
--
-- * missing_tables: tables the application needs that do not exist.
-- * missing_columns: columns it reads or writes that do not exist (a column of
--   a missing table counts too).
-- * new_required_columns: NOT NULL columns without a default that the previous
--   version does not know: its INSERTs would fail.
-- * invalid_indexes: indexes left invalid (e.g. an interrupted migration).
WITH expected(table_name, column_name) AS (
  VALUES ('students', 'id'), ('students', 'created_at'),
         ('health_records', 'id'), ('health_records', 'student_id'),
         ('health_records', 'encrypted_data'), ('health_records', 'created_at'),
         ('medications', 'id'), ('medications', 'created_at'),
         ('medication_administrations', 'id'),
         ('medication_administrations', 'student_id'),
         ('medication_administrations', 'medication_id'),
         ('medication_administrations', 'created_at'),
         ('audit_logs', 'id'), ('audit_logs', 'created_at')
)
SELECT 'missing_tables'::text AS check_name, count(DISTINCT e.table_name)::bigint AS count
  FROM expected e
 WHERE NOT EXISTS (SELECT 1 FROM information_schema.tables t
                    WHERE t.table_schema = current_schema()
                      AND t.table_name = e.table_name)
UNION ALL
SELECT 'missing_columns' AS check_name, count(*)
  FROM expected e
 WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns c
                    WHERE c.table_schema = current_schema()
                      AND c.table_name = e.table_name
                      AND c.column_name = e.column_name)
UNION ALL
SELECT 'new_required_columns' AS check_name, count(*)
  FROM information_schema.columns c
 WHERE c.table_schema = current_schema()
   AND c.table_name IN (SELECT DISTINCT table_name FROM expected)
   AND c.is_nullable = 'NO'
   AND c.column_default IS NULL
   AND c.is_identity = 'NO'
   AND c.is_generated = 'NEVER'
   AND (c.table_name, c.column_name) NOT IN (SELECT table_name, column_name FROM expected)
UNION ALL
SELECT 'invalid_indexes' AS check_name, count(*)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND NOT i.indisvalid;

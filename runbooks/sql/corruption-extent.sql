-- Corruption extent (procedures: "Scenario 2: Database Corruption", step 1),
-- corrected.
--
-- The procedures' query listed pg_tables rows with no pg_class row of kind
-- 'r', which can never happen (pg_tables is built from pg_class), so it could
-- not detect anything. These are signals PostgreSQL itself keeps:
-- * checksum_failures: pages whose data checksum failed in this database
--   (pg_stat_database; stays 0 if data checksums are off).
-- * invalid_indexes / indexes_not_ready: indexes the planner will not use or
--   that are not maintained.
-- * missing_expected_tables: application tables that are gone.
-- Page-level checks (amcheck's bt_index_check) need the extension installed
-- and are the DBA's next step.
--
-- Output: one row per check, (check_name text, count bigint); 0 means
-- healthy. Counts only, read-only, one SELECT.
SELECT 'checksum_failures'::text AS check_name,
       coalesce((SELECT checksum_failures FROM pg_stat_database
                  WHERE datname = current_database()), 0)::bigint AS count
UNION ALL
SELECT 'invalid_indexes' AS check_name, count(*)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT i.indisvalid
UNION ALL
SELECT 'indexes_not_ready' AS check_name, count(*)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT i.indisready
UNION ALL
SELECT 'missing_expected_tables' AS check_name, count(*)
  FROM (VALUES ('students'), ('health_records'), ('medications'),
               ('medication_administrations'), ('audit_logs')) AS expected(table_name)
 WHERE to_regclass(quote_ident(current_schema()) || '.' || quote_ident(expected.table_name))
       IS NULL;

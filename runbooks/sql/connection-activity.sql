-- Connection and activity summary for the current database (procedures:
-- "Initial Assessment": `psql -h prod-db -c "SELECT pg_stat_activity();"`,
-- which is not valid SQL: pg_stat_activity is a view, not a function).
--
-- Output: one row per figure, (check_name text, count bigint). Counts only
-- (no queries, users or client addresses), read-only, one SELECT.
-- Client backends only; this session itself is not counted.
SELECT 'connections_total'::text AS check_name, count(*)::bigint AS count
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()
UNION ALL
SELECT 'connections_active' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND state = 'active'
UNION ALL
SELECT 'connections_idle' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND state = 'idle'
UNION ALL
SELECT 'connections_idle_in_transaction' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()
   AND state IN ('idle in transaction', 'idle in transaction (aborted)')
UNION ALL
SELECT 'waiting_on_locks' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
UNION ALL
SELECT 'longest_transaction_s' AS check_name,
       coalesce(max(floor(extract(epoch FROM now() - xact_start))), 0)::bigint
  FROM pg_stat_activity
 WHERE datname = current_database() AND backend_type = 'client backend'
   AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
UNION ALL
SELECT 'connections_all_databases' AS check_name, count(*)
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
UNION ALL
SELECT 'max_connections' AS check_name, current_setting('max_connections')::bigint;

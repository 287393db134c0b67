-- outcomeledger on PostgreSQL: least-privilege roles for one ledger database.
--
-- Run it once per ledger database, as a superuser (or the database owner holding
-- CREATEROLE), AFTER `outcomeledger --db postgresql://.../DBNAME init` created the
-- schema, and again after any change to these grants:
--
--   psql -v ON_ERROR_STOP=1 -d DBNAME -f sql/roles.sql
--   psql -v ON_ERROR_STOP=1 -d DBNAME -v writer=ol_writer -v reader=ol_reader \
--        -v schema=ledger -f sql/roles.sql            # other role names, another schema
--
-- It creates two group roles (NOLOGIN: grant them to login roles, never log in as them):
--
--   writer (default outcomeledger_writer): every outcomeledger command. Appends events,
--       keeps the projections (it owns the proj_* tables, tracking and
--       projection_digests, because `replay` builds fresh tables and swaps them in),
--       runs `project --follow`.
--   reader (default outcomeledger_reader): downstream systems. SELECT on the events table
--       (the `events` feed) and on every projection table, including the ones a later
--       `replay` creates; no INSERT, UPDATE, DELETE, TRUNCATE or DDL anywhere; nothing
--       at all on the participant key store.
--
-- And it makes the events table append-only for everyone, its owner included: UPDATE,
-- DELETE and TRUNCATE raise. (A superuser can still disable the trigger; `audit verify`
-- would then find any edit through the hash chains.)
--
-- Login roles, e.g. for an importer service and a BI tool:
--
--   CREATE ROLE importer LOGIN PASSWORD '...' IN ROLE outcomeledger_writer;
--   -- tables `replay` creates must be owned by the group role, not by the login role:
--   ALTER ROLE importer SET role = 'outcomeledger_writer';
--   CREATE ROLE bi LOGIN PASSWORD '...' IN ROLE outcomeledger_reader;

\if :{?writer}
\else
  \set writer outcomeledger_writer
\endif
\if :{?reader}
\else
  \set reader outcomeledger_reader
\endif
\if :{?schema}
\else
  \set schema public
\endif

SET search_path = :"schema";

BEGIN;

-- The group roles (roles are per server: create them once, keep them).
SELECT format('CREATE ROLE %I NOLOGIN', :'writer')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'writer') \gexec
SELECT format('CREATE ROLE %I NOLOGIN', :'reader')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec

GRANT CONNECT ON DATABASE :"DBNAME" TO :"writer", :"reader";
GRANT USAGE ON SCHEMA :"schema" TO :"writer", :"reader";
-- `replay` creates the fresh proj_*__new tables, their indexes, and swaps them in.
GRANT CREATE ON SCHEMA :"schema" TO :"writer";

-- The events table: eventsourcing appends with INSERT, numbering events from the
-- notification_id sequence. It also takes LOCK TABLE ... IN EXCLUSIVE MODE around each
-- append (so positions commit in order and a follower never skips one), and
-- PostgreSQL grants that lock mode only with UPDATE, DELETE or TRUNCATE: the writer gets
-- UPDATE, and the append-only trigger below refuses every actual update.
GRANT SELECT, INSERT, UPDATE ON outcomeledger_events TO :"writer";
GRANT USAGE ON SEQUENCE outcomeledger_events_notification_id_seq TO :"writer";
GRANT SELECT ON outcomeledger_events TO :"reader";

-- The projections, their tracking table and the digests of their rows (the projector's
-- cache: projections/README.md) belong to the writer (a rebuild drops and renames
-- tables, which only an owner may do); the reader may read them.
SELECT format('ALTER TABLE %I OWNER TO %I', tablename, :'writer')
FROM pg_tables
WHERE schemaname = :'schema'
    AND (tablename LIKE 'proj\_%' OR tablename IN ('tracking', 'projection_digests'))
ORDER BY tablename \gexec
SELECT format('GRANT SELECT ON %I TO %I', tablename, :'reader')
FROM pg_tables
WHERE schemaname = :'schema'
    AND (tablename LIKE 'proj\_%' OR tablename IN ('tracking', 'projection_digests'))
ORDER BY tablename \gexec
-- Tables the writer creates from now on (every `replay`) are readable by the reader.
ALTER DEFAULT PRIVILEGES FOR ROLE :"writer" IN SCHEMA :"schema"
    GRANT SELECT ON TABLES TO :"reader";

-- The participant key store (README "Participant data and erasure"): the writer reads
-- and writes it (imports add keys, `participant erase` destroys them); the reader never
-- sees it, not even through the default privileges above. `init` creates it on
-- PostgreSQL; a ledger initialised before it gets it with its first pseudonymised import:
-- run this file again then.
SELECT format('ALTER TABLE %I OWNER TO %I', tablename, :'writer')
FROM pg_tables
WHERE schemaname = :'schema' AND tablename IN ('participant_keys', 'participant_key_salts')
ORDER BY tablename \gexec
SELECT format('REVOKE ALL ON %I FROM %I, PUBLIC', tablename, :'reader')
FROM pg_tables
WHERE schemaname = :'schema' AND tablename IN ('participant_keys', 'participant_key_salts')
ORDER BY tablename \gexec

-- Append-only events: no role may rewrite or remove history.
CREATE OR REPLACE FUNCTION outcomeledger_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the outcomeledger events table is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS outcomeledger_append_only ON outcomeledger_events;
CREATE TRIGGER outcomeledger_append_only
    BEFORE UPDATE OR DELETE ON outcomeledger_events
    FOR EACH ROW EXECUTE FUNCTION outcomeledger_events_append_only();
DROP TRIGGER IF EXISTS outcomeledger_append_only_truncate ON outcomeledger_events;
CREATE TRIGGER outcomeledger_append_only_truncate
    BEFORE TRUNCATE ON outcomeledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION outcomeledger_events_append_only();

COMMIT;

-- outcomeledger on PostgreSQL: bind every event's `recorded_by` to the database login.
--
-- Opt-in, for deployments where people log in to PostgreSQL as themselves (one login
-- role per person, each granted the writer role of sql/roles.sql). Run it once per ledger
-- database, as a superuser or the owner of the events table, AFTER `init` (and
-- sql/roles.sql, whose append-only trigger it sits beside):
--
--   psql -v ON_ERROR_STOP=1 -d DBNAME -f sql/bind_login.sql
--   psql -v ON_ERROR_STOP=1 -d DBNAME -v schema=ledger -f sql/bind_login.sql
--
-- From then on a row is appended to the events table only if the `recorded_by` of the
-- event it stores is `session_user`: the name the connection logged in with, which
-- `SET ROLE` (and `ALTER ROLE ... SET role`, as sql/roles.sql advises) does not change.
-- Every kind of event is covered, contracts', programmes' and the actor registry's alike:
-- the trigger reads the stored bytes, which are the event's canonical JSON, plain UTF-8
-- (outcomeledger stores no compressed or encrypted state; domain/codec.py), so
-- `convert_from(state, 'UTF8')::jsonb ->> 'recorded_by'` is the actor the event names.
-- Each person then passes `--actor` (or $OUTCOMELEDGER_ACTOR) set to their login name;
-- any other name is refused by the database, the whole write rolled back.
--
-- What it does not do: it vouches for who wrote a row only while this database holds it
-- (an evidence pack or a restored dump carries no proof of the login; keys do, see the
-- README's threat model); a superuser can disable it; and it refuses what does not name
-- the login, so `audit replay` of a pack recorded by others, or `demo`, must load into a
-- database without it. Parsing each row costs in proportion to its bytes (0.17 s for the
-- 7.9 MB of events of a 100,000-row returns import, which takes about 3 s in all).
--
-- To remove it:  DROP TRIGGER outcomeledger_bind_login ON outcomeledger_events;

\if :{?schema}
\else
  \set schema public
\endif

SET search_path = :"schema";

BEGIN;

CREATE OR REPLACE FUNCTION outcomeledger_events_bind_login() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    claimed text := convert_from(NEW.state, 'UTF8')::jsonb ->> 'recorded_by';
BEGIN
    IF claimed IS DISTINCT FROM session_user THEN
        -- One line (the command line shows the first): who the row claims, who logged in.
        RAISE EXCEPTION 'recorded_by % is not the database login %: events are bound to the login here (sql/bind_login.sql); pass --actor %',
            coalesce(quote_literal(claimed), 'missing'), quote_literal(session_user),
            session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS outcomeledger_bind_login ON outcomeledger_events;
CREATE TRIGGER outcomeledger_bind_login
    BEFORE INSERT ON outcomeledger_events
    FOR EACH ROW EXECUTE FUNCTION outcomeledger_events_bind_login();

COMMIT;

-- Event ids are drawn at COMMIT, inside the server, instead of at INSERT.
--
-- Clients resume from the last event id they saw, so ids must become visible in
-- id order. Until now append() took a transaction-scoped advisory lock before
-- drawing the id, which held the lock across the client's round trip to COMMIT:
-- on a busy server the gap between "event inserted" and "COMMIT sent" is an event
-- loop turn, and every writer in the city queued behind it.
--
-- Now a row is inserted with a temporary negative id, and a deferred constraint
-- trigger, which Postgres runs as part of COMMIT, takes the lock, gives the row
-- its real id and NOTIFYs it. The lock is held only from there to the end of the
-- commit (microseconds plus the WAL flush), never across a network round trip,
-- and ids still become visible strictly in order: the next committer gets the
-- lock only after this transaction is visible.

CREATE SEQUENCE events_pending_id_seq;
ALTER TABLE events ALTER COLUMN id SET DEFAULT -nextval('events_pending_id_seq');

CREATE FUNCTION events_assign_id() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    final_id bigint;
BEGIN
    IF NEW.id > 0 THEN
        RETURN NULL;  -- already numbered (an explicit id, e.g. a restore)
    END IF;
    PERFORM pg_advisory_xact_lock(435778055796);  -- 0x6576656E74, "event"
    final_id := nextval('events_id_seq');
    UPDATE events SET id = final_id WHERE id = NEW.id;
    PERFORM pg_notify('pantau_events', final_id::text);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_assign_id_at_commit
    AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION events_assign_id();

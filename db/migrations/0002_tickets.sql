-- Tickets, part two: what the lifecycle, SLA clock, routing and duplicate merge need
-- beyond the v1 table. Additive only: 0001 stays as it was applied.

-- References read BDG-YYMM-NNNNN: one counter row per month, bumped in the
-- creating transaction, so numbers are dense and restart each month.
CREATE TABLE ticket_reference_counters (
    month       text PRIMARY KEY CHECK (month ~ '^[0-9]{4}$'),
    last_value  integer NOT NULL CHECK (last_value > 0)
);

ALTER TABLE tickets
    -- The routing rule's answer, kept so the operator can accept it in one action.
    ADD COLUMN suggested_department_id integer REFERENCES departments(id),
    -- Time already spent paused (waiting on the reporter); due times are shifted by it.
    ADD COLUMN sla_paused_seconds integer NOT NULL DEFAULT 0 CHECK (sla_paused_seconds >= 0),
    -- When the SLA clock (re)started: intake, or the last reopen.
    ADD COLUMN sla_started_at timestamptz NOT NULL DEFAULT now(),
    -- Set by the SLA scheduler when it raises ticket.sla_breached: once per breach.
    ADD COLUMN ack_breached_at timestamptz,
    ADD COLUMN resolve_breached_at timestamptz,
    -- The status a merged ticket had, so an unmerge can put it back.
    ADD COLUMN merged_from_status text NOT NULL DEFAULT '',
    -- Open311 service attributes (attribute[code]=value) as posted.
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT tickets_merged_has_master
        CHECK ((status = 'merged') = (merged_into_id IS NOT NULL)),
    ADD CONSTRAINT tickets_not_merged_into_itself CHECK (merged_into_id <> id);

UPDATE tickets SET sla_started_at = created_at;

-- Where a note was written, so a merge can move it to the master and an unmerge back.
ALTER TABLE ticket_notes ADD COLUMN origin_ticket_id bigint REFERENCES tickets(id);

-- Queue pages filtered by department or district stay index-ordered by urgency.
CREATE INDEX tickets_department_queue ON tickets (department_id, priority, resolve_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');
CREATE INDEX tickets_district_queue ON tickets (district_id, priority, resolve_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');
CREATE INDEX tickets_address_trgm ON tickets USING gin (address gin_trgm_ops);
CREATE INDEX tickets_merged_into ON tickets (merged_into_id) WHERE merged_into_id IS NOT NULL;
-- The SLA scheduler's scan: open tickets by their next deadline.
CREATE INDEX tickets_sla_ack ON tickets (ack_due_at)
    WHERE ack_breached_at IS NULL AND acknowledged_at IS NULL
      AND status IN ('new', 'triaged', 'routed');
CREATE INDEX tickets_sla_resolve ON tickets (resolve_due_at)
    WHERE resolve_breached_at IS NULL
      AND status IN ('new', 'triaged', 'routed', 'acknowledged', 'in_progress');

-- The default queue order: what needs a first action now at the top
-- (server/tickets/queue.py says the order; a test checks these columns agree
-- with the SLA rules in server/tickets/sla.py).
--
-- queue_rank: 0/1 an emergency (P1/P2) no department has been sent yet (new or
--             triaged): the center must act on it now; then 2..5 everything
--             else by priority (P1..P4).
-- queue_due_at: within rank 0/1 its arrival (first come, first served); else the
--             deadline that is running (acknowledge while unacknowledged, then
--             resolve/dispatch); NULL (last) when no clock runs: paused, met.
-- Stored columns so the order is an index: the first page of a million-ticket
-- queue reads a few index pages, and keyset paging stays exact.
ALTER TABLE tickets
    ADD COLUMN queue_rank smallint GENERATED ALWAYS AS (
        CASE WHEN priority <= 2 AND status IN ('new', 'triaged') THEN priority - 1
             ELSE priority + 1 END) STORED,
    ADD COLUMN queue_due_at timestamptz GENERATED ALWAYS AS (
        CASE WHEN priority <= 2 AND status IN ('new', 'triaged') THEN created_at
             WHEN sla_paused_at IS NOT NULL THEN NULL
             WHEN acknowledged_at IS NULL AND status IN ('new', 'triaged', 'routed')
                  AND ack_due_at IS NOT NULL THEN ack_due_at
             WHEN resolve_due_at IS NOT NULL
                  AND (status IN ('new', 'triaged', 'routed', 'acknowledged')
                       OR (status = 'in_progress' AND priority > 2)) THEN resolve_due_at
        END) STORED;

DROP INDEX tickets_open_queue;
DROP INDEX tickets_department_queue;
DROP INDEX tickets_district_queue;
CREATE INDEX tickets_open_queue ON tickets (queue_rank, queue_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');
CREATE INDEX tickets_department_queue ON tickets (department_id, queue_rank, queue_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');
CREATE INDEX tickets_district_queue ON tickets (district_id, queue_rank, queue_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');

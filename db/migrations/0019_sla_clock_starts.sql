-- SLA clocks run from the event that starts them (server/tickets/sla.py):
-- verification from submission (or the last reopen), a complaint's answer from
-- routing. Triage never restarts either; before this, a recompute started both
-- at sla_started_at, which rows loaded with an old created_at (the demo seed)
-- had set to the moment of loading: a 26-day-old ticket became 2 minutes old.

-- NULL now means "from submission" (created_at); only a reopen sets it.
ALTER TABLE tickets ALTER COLUMN sla_started_at DROP NOT NULL,
                    ALTER COLUMN sla_started_at DROP DEFAULT;
UPDATE tickets t SET sla_started_at = NULL
WHERE NOT EXISTS (
    SELECT 1 FROM events e
    WHERE e.subject_type = 'ticket' AND e.subject_id = t.id::text
      AND e.kind = 'ticket.status_changed' AND e.payload->>'action' = 'reopen');

-- When the department now responsible got the ticket (its clock's start), and
-- how long the ticket had already waited on its reporter by then.
ALTER TABLE tickets ADD COLUMN routed_at timestamptz,
                    ADD COLUMN routed_paused_seconds integer NOT NULL DEFAULT 0
                        CHECK (routed_paused_seconds >= 0);
UPDATE tickets t SET routed_at = r.at
FROM (SELECT e.subject_id::bigint AS id, max(e.created_at) AS at FROM events e
      WHERE e.subject_type = 'ticket' AND e.subject_id ~ '^[0-9]{1,18}$'
        AND (e.kind = 'ticket.routed'
             OR (e.kind = 'ticket.status_changed' AND e.payload->>'action' = 'reopen'))
      GROUP BY e.subject_id) r
WHERE t.id = r.id AND t.department_id IS NOT NULL;

-- A complaint nobody has been routed yet has no answer deadline running.
UPDATE tickets SET resolve_due_at = NULL, resolve_breached_at = NULL
WHERE priority > 2 AND department_id IS NULL
  AND status IN ('new', 'triaged', 'routed', 'acknowledged', 'in_progress');

-- The suggested department is no longer stored on the ticket: every read asks
-- the routing rules (server/tickets/routing.py, records.VIEW_SQL), so a ticket
-- filed before its rule existed, re-categorised at triage, or loaded by a seed
-- or an import gets the suggestion the rules give now, never a stale one.
ALTER TABLE tickets DROP COLUMN suggested_department_id;

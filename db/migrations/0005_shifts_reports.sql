-- Shifts and reports (issue #7): staffing state, handover notes, and the indexes
-- the weekly/monthly/yearly aggregates need. Additive only.

-- Set while an OPEN shift has fewer people checked in than its minimums; cleared
-- when fixed. Kept on the row so every console can ask "is this shift short?"
-- without replaying events, and so shift.understaffed is emitted once per episode.
ALTER TABLE shifts
    ADD COLUMN understaffed_since timestamptz,
    ADD COLUMN shortfall jsonb NOT NULL DEFAULT '{}';

-- Who exchanged places, approved by which supervisor: the roster's audit beside
-- the event log, so `shift roster` can show that a line came from a swap.
ALTER TABLE shift_assignments
    ADD COLUMN swapped_from_id integer REFERENCES people(id),
    ADD COLUMN assigned_by_id integer REFERENCES people(id);

CREATE INDEX shifts_day ON shifts (day);
CREATE INDEX shift_assignments_person ON shift_assignments (person_id);

-- The note written when a shift closes. `summary` is a snapshot taken at close
-- time (open P1/P2 tickets, open alarms, SLA breaches, cameras offline), so the
-- incoming supervisor reads what the outgoing one saw, not what is true later.
CREATE TABLE shift_handovers (
    id                  serial PRIMARY KEY,
    shift_id            integer NOT NULL UNIQUE REFERENCES shifts(id),
    next_shift_id       integer REFERENCES shifts(id),
    written_by_id       integer REFERENCES people(id),
    notes               text NOT NULL DEFAULT '' CHECK (length(notes) <= 5000),
    summary             jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    acknowledged_at     timestamptz,
    acknowledged_by_id  integer REFERENCES people(id),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by_id IS NULL))
);
CREATE INDEX shift_handovers_pending ON shift_handovers (next_shift_id)
    WHERE acknowledged_at IS NULL;

-- Reports: the period filter on panic alarms; tickets already have created_at.
CREATE INDEX panic_alarms_raised ON panic_alarms (raised_at);

-- Duplicate candidates at intake: same category, a small lat/lon box, a time window.
-- With only (category_id, created_at) a busy category's 72-hour window is thousands
-- of heap rows per new ticket at a million tickets; with the box's columns in the
-- index, lon and created_at are checked on index entries and only the few tickets
-- really nearby are read. (Numbered 0012 to stay clear of the other parts' 0003+.)
CREATE INDEX tickets_duplicate_probe ON tickets (category_id, lat, lon, created_at)
    WHERE lat IS NOT NULL AND status NOT IN ('merged', 'rejected');

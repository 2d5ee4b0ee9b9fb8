-- The public status page /lapor/status/{reference} opens a complaint only with the
-- short key its reporter was given when filing (server/tickets/public.py): a
-- reference alone is numbered and guessable. Only the key's SHA-256 is stored;
-- tickets filed by staff, alarms and calls have none and never show there.
ALTER TABLE tickets ADD COLUMN status_key_hash text;

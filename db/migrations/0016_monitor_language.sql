-- The language a wall display shows (the wall page and a wall's wall-term), set
-- per monitor because a kiosk has no person signed in. Indonesian by default,
-- like people's.
ALTER TABLE monitors ADD COLUMN language text NOT NULL DEFAULT 'id'
    CHECK (language IN ('id', 'en'));

-- Wall displays pair themselves: an unpaired kiosk asks for a short code, shows
-- it, and a supervisor approves the code for a monitor (`pantau wall pair`). The
-- kiosk proves it is the one that asked with a claim secret only it knows (stored
-- as SHA-256, like tokens); once approved it claims a wall token exactly once.

CREATE TABLE wall_pairings (
    id                  serial PRIMARY KEY,
    code                text NOT NULL CHECK (code ~ '^[A-Z2-9]{6}$'),
    claim_hash          text NOT NULL UNIQUE,
    requested_monitor   text NOT NULL DEFAULT '',
    user_agent          text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300),
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    monitor_id          integer REFERENCES monitors(id),
    approved_at         timestamptz,
    approved_by         text NOT NULL DEFAULT '',
    token_id            bigint REFERENCES auth_tokens(id),
    claimed_at          timestamptz,
    CHECK ((approved_at IS NULL) = (monitor_id IS NULL)),
    CHECK (claimed_at IS NULL OR approved_at IS NOT NULL)
);
-- A code names one pairing while it can still be claimed.
CREATE UNIQUE INDEX wall_pairings_open_code ON wall_pairings (code) WHERE claimed_at IS NULL;
CREATE INDEX wall_pairings_token ON wall_pairings (token_id) WHERE token_id IS NOT NULL;

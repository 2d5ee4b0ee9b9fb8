-- Pantau schema v1: the whole domain of DESIGN.md.
-- Versioned SQL applied in order by `pantau db upgrade`; never edit an applied file,
-- add the next number instead.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE districts (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL UNIQUE,
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180)
);

CREATE TABLE departments (
    id                  serial PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    name                text NOT NULL,
    name_en             text NOT NULL DEFAULT '',
    -- SLA policy: emergencies in minutes, complaints in working days.
    sla_ack_minutes     integer NOT NULL DEFAULT 15 CHECK (sla_ack_minutes > 0),
    sla_dispatch_minutes integer NOT NULL DEFAULT 30 CHECK (sla_dispatch_minutes > 0),
    sla_verify_days     integer NOT NULL DEFAULT 3 CHECK (sla_verify_days > 0),
    sla_resolve_days    integer NOT NULL DEFAULT 5 CHECK (sla_resolve_days > 0),
    is_emergency_service boolean NOT NULL DEFAULT false,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    id                  serial PRIMARY KEY,
    code                text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{2,40}$'),
    name                text NOT NULL,
    name_en             text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    default_priority    smallint NOT NULL DEFAULT 3 CHECK (default_priority BETWEEN 1 AND 4),
    department_id       integer REFERENCES departments(id),
    active              boolean NOT NULL DEFAULT true
);

-- category x district -> department; a NULL district is the category's city-wide rule.
CREATE TABLE routing_rules (
    id              serial PRIMARY KEY,
    category_id     integer NOT NULL REFERENCES categories(id),
    district_id     integer REFERENCES districts(id),
    department_id   integer NOT NULL REFERENCES departments(id)
);
CREATE UNIQUE INDEX routing_rules_unique ON routing_rules (category_id, COALESCE(district_id, 0));

CREATE TABLE people (
    id              serial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,40}$'),
    full_name       text NOT NULL,
    password_hash   text NOT NULL,
    roles           text[] NOT NULL DEFAULT '{}'
                    CHECK (roles <@ ARRAY['call_center','expert','police','supervisor',
                                          'department','admin']::text[]),
    department_id   integer REFERENCES departments(id),
    phone           text NOT NULL DEFAULT '',
    language        text NOT NULL DEFAULT 'id' CHECK (language IN ('id', 'en')),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- department staff belong to exactly one department
    CHECK (NOT ('department' = ANY (roles)) OR department_id IS NOT NULL)
);

CREATE TABLE cameras (
    id              serial PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{2,40}$'),
    name            text NOT NULL,
    district_id     integer REFERENCES districts(id),
    lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    source_kind     text NOT NULL CHECK (source_kind IN ('rtsp', 'file', 'synthetic')),
    source_url      text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE monitors (
    id                  serial PRIMARY KEY,
    code                text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{1,40}$'),
    name                text NOT NULL,
    layout              text NOT NULL DEFAULT '2x2' CHECK (layout ~ '^[1-6]x[1-6]$'),
    rotation_seconds    integer NOT NULL DEFAULT 0 CHECK (rotation_seconds >= 0),
    show_alarms         boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE monitor_cameras (
    id          serial PRIMARY KEY,
    monitor_id  integer NOT NULL REFERENCES monitors(id),
    camera_id   integer NOT NULL REFERENCES cameras(id),
    position    integer NOT NULL CHECK (position >= 0),
    UNIQUE (monitor_id, position)
);

-- Bearer tokens for people and for paired wall displays. Only a SHA-256 of the
-- token is stored: tokens are 256-bit random, so a slow hash buys nothing.
CREATE TABLE auth_tokens (
    id              bigserial PRIMARY KEY,
    token_hash      text NOT NULL UNIQUE,
    kind            text NOT NULL CHECK (kind IN ('person', 'wall')),
    person_id       integer REFERENCES people(id),
    monitor_id      integer REFERENCES monitors(id),
    label           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    last_used_at    timestamptz,
    CHECK ((kind = 'person') = (person_id IS NOT NULL)),
    CHECK ((kind = 'wall') = (monitor_id IS NOT NULL))
);

-- Open311 api_keys for apps that file complaints; stored hashed like tokens.
CREATE TABLE api_keys (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    key_hash    text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Panic-button devices. The secret signs requests with HMAC, so it must be kept
-- in a form we can use; it never leaves the server after enrolment.
CREATE TABLE devices (
    id              serial PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{2,60}$'),
    owner_name      text NOT NULL,
    owner_kind      text NOT NULL DEFAULT 'citizen' CHECK (owner_kind IN ('citizen', 'place')),
    address         text NOT NULL DEFAULT '',
    district_id     integer REFERENCES districts(id),
    lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    secret          text NOT NULL,
    contacts        jsonb NOT NULL DEFAULT '[]',
    enabled         boolean NOT NULL DEFAULT true,
    last_seen_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id              bigserial PRIMARY KEY,
    reference       text NOT NULL UNIQUE,
    channel         text NOT NULL CHECK (channel IN ('open311', 'web', 'call112', 'panic',
                                                     'cctv', 'walk_in')),
    category_id     integer REFERENCES categories(id),
    priority        smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 4),
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'triaged', 'routed', 'acknowledged', 'in_progress',
                                      'resolved', 'closed', 'rejected', 'merged')),
    address         text NOT NULL DEFAULT '',
    district_id     integer REFERENCES districts(id),
    lat             double precision CHECK (lat BETWEEN -90 AND 90),
    lon             double precision CHECK (lon BETWEEN -180 AND 180),
    reporter_name   text NOT NULL DEFAULT '',
    reporter_phone  text NOT NULL DEFAULT '',
    reporter_email  text NOT NULL DEFAULT '',
    anonymous       boolean NOT NULL DEFAULT false,
    description     text NOT NULL CHECK (length(description) <= 5000),
    department_id   integer REFERENCES departments(id),
    tags            text[] NOT NULL DEFAULT '{}',
    flagged         boolean NOT NULL DEFAULT false,
    close_reason    text NOT NULL DEFAULT '',
    ack_due_at      timestamptz,
    resolve_due_at  timestamptz,
    sla_paused_at   timestamptz,
    merged_into_id  bigint REFERENCES tickets(id),
    version         integer NOT NULL DEFAULT 1,
    created_by_id   integer REFERENCES people(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz
);
CREATE INDEX tickets_open_queue ON tickets (priority, resolve_due_at, id)
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'merged');
CREATE INDEX tickets_department ON tickets (department_id, status);
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_category_created ON tickets (category_id, created_at);
CREATE INDEX tickets_description_trgm ON tickets USING gin (description gin_trgm_ops);

CREATE TABLE ticket_notes (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets(id),
    author_id   integer REFERENCES people(id),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);

CREATE TABLE panic_alarms (
    id                  bigserial PRIMARY KEY,
    device_id           integer NOT NULL REFERENCES devices(id),
    ticket_id           bigint REFERENCES tickets(id),
    idempotency_key     text NOT NULL,
    status              text NOT NULL DEFAULT 'raised'
                        CHECK (status IN ('raised', 'acknowledged', 'dispatched', 'resolved',
                                          'false_alarm')),
    lat                 double precision NOT NULL,
    lon                 double precision NOT NULL,
    raised_at           timestamptz NOT NULL DEFAULT now(),
    acknowledged_at     timestamptz,
    acknowledged_by_id  integer REFERENCES people(id),
    dispatched_at       timestamptz,
    dispatch_unit       text NOT NULL DEFAULT '',
    dispatch_note       text NOT NULL DEFAULT '',
    resolved_at         timestamptz,
    escalation_level    integer NOT NULL DEFAULT 0,
    UNIQUE (device_id, idempotency_key)
);
CREATE INDEX panic_alarms_open ON panic_alarms (raised_at) WHERE status IN ('raised');

CREATE TABLE shift_templates (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    starts_at   time NOT NULL,
    ends_at     time NOT NULL,
    timezone    text NOT NULL DEFAULT 'Asia/Jakarta'
);

CREATE TABLE staffing_minimums (
    id          serial PRIMARY KEY,
    template_id integer NOT NULL REFERENCES shift_templates(id),
    role        text NOT NULL CHECK (role IN ('call_center', 'expert', 'police', 'supervisor')),
    minimum     integer NOT NULL CHECK (minimum >= 0),
    UNIQUE (template_id, role)
);

CREATE TABLE shifts (
    id              serial PRIMARY KEY,
    template_id     integer NOT NULL REFERENCES shift_templates(id),
    day             date NOT NULL,
    status          text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'open', 'closed')),
    opened_at       timestamptz,
    opened_by_id    integer REFERENCES people(id),
    closed_at       timestamptz,
    closed_by_id    integer REFERENCES people(id),
    UNIQUE (template_id, day)
);

CREATE TABLE shift_assignments (
    id              serial PRIMARY KEY,
    shift_id        integer NOT NULL REFERENCES shifts(id),
    person_id       integer NOT NULL REFERENCES people(id),
    role            text NOT NULL CHECK (role IN ('call_center', 'expert', 'police', 'supervisor')),
    checked_in_at   timestamptz,
    checked_out_at  timestamptz,
    UNIQUE (shift_id, person_id)
);

-- The event log: every state change appends one row in the same transaction as
-- the state it changed, and NOTIFY pantau_events carries the id. The id is the
-- cursor clients resume from, so ids must become visible in order (see db/events.py).
CREATE TABLE events (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    subject_type    text NOT NULL,
    subject_id      text NOT NULL,
    actor           text NOT NULL,
    department_id   integer,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_subject ON events (subject_type, subject_id, id);
CREATE INDEX events_created ON events (created_at);

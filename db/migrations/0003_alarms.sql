-- Panic alarms (issue #5): device liveness and secret rotation, replay protection,
-- the lifecycle's who/why columns, and the outbox of messages to owners' contacts.

ALTER TABLE devices
    ADD COLUMN offline_since      timestamptz,
    ADD COLUMN secret_rotated_at  timestamptz,
    ADD COLUMN disabled_at        timestamptz;

ALTER TABLE panic_alarms
    ADD COLUMN dispatched_by_id   integer REFERENCES people(id),
    ADD COLUMN resolved_by_id     integer REFERENCES people(id),
    ADD COLUMN resolution_note    text NOT NULL DEFAULT '',
    ADD COLUMN escalated_at       timestamptz,
    -- The cameras shown with the alarm, fixed when it is raised so the wall, the
    -- console and the timeline all agree on what was shown.
    ADD COLUMN nearest_cameras    jsonb NOT NULL DEFAULT '[]',
    ADD CONSTRAINT panic_alarms_key_shape
        CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,100}$'),
    ADD CONSTRAINT panic_alarms_escalation_level CHECK (escalation_level BETWEEN 0 AND 2);

CREATE INDEX panic_alarms_status ON panic_alarms (status, id);

-- Signatures already accepted, so a captured request cannot be replayed inside
-- the clock-skew window. Written in the same transaction as the work the request
-- did; rows older than the window are purged by the alarm scheduler.
CREATE TABLE device_request_nonces (
    id          bigserial PRIMARY KEY,
    device_id   integer NOT NULL REFERENCES devices(id),
    signature   text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, signature)
);
CREATE INDEX device_request_nonces_seen ON device_request_nonces (seen_at);

-- The outbox: one row per message to one of the device owner's contacts, written
-- in the alarm's transaction and sent (with retries) by the contact sender task.
CREATE TABLE alarm_notifications (
    id              bigserial PRIMARY KEY,
    alarm_id        bigint NOT NULL REFERENCES panic_alarms(id),
    contact_name    text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    address         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alarm_notifications_alarm ON alarm_notifications (alarm_id);
CREATE INDEX alarm_notifications_due ON alarm_notifications (next_attempt_at)
    WHERE status = 'pending';

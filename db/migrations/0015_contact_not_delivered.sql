-- A contact message no gateway will carry (the log-only sender shipped by
-- default, a number a gateway refuses for good) is `not_delivered`, never `sent`:
-- the operator must call the contacts. See server/alarms/contacts.py.
ALTER TABLE alarm_notifications DROP CONSTRAINT alarm_notifications_status_check;
ALTER TABLE alarm_notifications ADD CONSTRAINT alarm_notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'not_delivered'));

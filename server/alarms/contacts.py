"""Messages to a device owner's contacts: the outbox and the sender interface.

The alarm's transaction writes one `alarm_notifications` row per contact (the
outbox), so a message exists exactly when its alarm does. A sender task in every
server process claims due rows with FOR UPDATE SKIP LOCKED (two processes never
send the same row at once), sends them concurrently, and records each outcome
with an event on the alarm's timeline; a failure is retried with exponential
backoff until `send_attempts` is used up, then marked failed. A message that no
gateway will ever carry (`NotDelivered`: no gateway configured, a number the
gateway refuses for good) is marked `not_delivered` at once, with the reason,
and not retried: the operator must call the contacts.

A message is `sent` only when a gateway accepted it. The states an operator sees
(`GET /api/alarms/{id}`, `notifications[].state`): `pending` (not tried yet),
`retrying` (tried, will try again), `sent`, `failed` (every attempt failed),
`not_delivered` (no gateway will carry it); `reason` says why for the last three
but `sent`.

Delivery is at least once: a process that dies after the gateway accepted a
message but before the row was updated sends it again after restart.

PLUGGING IN A REAL GATEWAY: implement `ContactSender` (an object with `name` and
`async send(message)` that raises `SendError` on failure) — e.g. an SMS
aggregator's HTTP API or the WhatsApp Business Cloud API (template message
`POST /{phone-number-id}/messages`) — and set it as `AlarmConfig.sender` when the
app is created (server/alarms/scheduler.py `setup_alarms`). `LogSender` below is
the implementation shipped here: it writes each message to the log (the number
masked to its last 3 digits: the log is no contact list) and reports
it `NotDelivered` ("no gateway configured"), because nobody received it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from tortoise.transactions import in_transaction

from db import events
from server.logs import mask_phone, scrub_phones

log = logging.getLogger("pantau.contacts")


class SendError(Exception):
    """The gateway refused or could not be reached; the message will be retried."""


class NotDelivered(Exception):
    """No attempt will ever deliver this message (no gateway, a number refused for
    good): it is recorded `not_delivered` with this reason and not retried."""


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    alarm_id: int
    contact_name: str
    channel: str  # "sms" | "whatsapp"
    address: str  # phone number, E.164 where known
    body: str


class ContactSender(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver one message, or raise SendError (retry) or NotDelivered (never)."""


NO_GATEWAY = "no gateway configured"


class LogSender:
    """Writes each message to the log instead of a gateway (the default here).

    Nobody receives a logged message, so it is never reported as sent."""

    name = "log"

    async def send(self, message: OutgoingMessage) -> None:
        log.info("contact message not delivered: no gateway configured", extra={
            "alarm_id": message.alarm_id, "channel": message.channel,
            "to": mask_phone(message.address), "contact": message.contact_name,
            "body": message.body})
        raise NotDelivered(NO_GATEWAY)


def message_body(owner_name: str, address: str, raised_at: str) -> str:
    """What a relative receives (Indonesian first: the owners' language)."""
    where = address or "lokasi tidak diketahui"
    return (f"PANTAU: tombol darurat {owner_name} ditekan ({raised_at} WIB). Lokasi: {where}. "
            "Petugas Command Center sedang menangani. / Panic button pressed; the command "
            "center is responding.")


_CLAIM = """
SELECT id, alarm_id, contact_name, channel, address, body, attempts
FROM alarm_notifications
WHERE status = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at, id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""


_RECORD = """
UPDATE alarm_notifications n SET
    attempts = o.attempts,
    status = o.status,
    sent_at = CASE WHEN o.status = 'sent' THEN now() ELSE n.sent_at END,
    last_error = o.error,
    next_attempt_at = CASE WHEN o.status = 'pending'
                           THEN now() + make_interval(secs => o.delay) ELSE n.next_attempt_at END
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::float8[])
     AS o(id, attempts, status, error, delay)
WHERE n.id = o.id
"""
SEND_TIMEOUT_S = 20.0  # a gateway that has not answered by then counts as a failure


async def send_due(sender: ContactSender, *, max_attempts: int, retry_s: float,
                   batch: int = 20, rounds: int = 10) -> int:
    """Send the messages that are due, `batch` at a time, up to `rounds` batches;
    returns how many were attempted."""
    attempted = 0
    for _ in range(rounds):
        done = await _send_batch(sender, max_attempts, retry_s, batch)
        attempted += done
        if done < batch:
            break
    return attempted


async def _send_batch(sender: ContactSender, max_attempts: int, retry_s: float,
                      batch: int) -> int:
    """One transaction claims up to `batch` due messages (SKIP LOCKED: other
    processes take other rows), sends them concurrently, and records every
    outcome in two statements. The rows stay locked only while their sends are
    in flight (at most SEND_TIMEOUT_S); a crash mid-send leaves them pending, to
    be sent again.
    """
    async with in_transaction() as tx:
        rows = await tx.execute_query_dict(_CLAIM, [batch])
        if not rows:
            return 0
        msgs = [OutgoingMessage(int(r["id"]), int(r["alarm_id"]), r["contact_name"],
                                r["channel"], r["address"], r["body"]) for r in rows]
        sent = await asyncio.gather(*(_send_one(sender, m) for m in msgs))
        outcomes: list[tuple[int, int, str, str, float]] = []
        timeline: list[events.EventRow] = []
        for row, msg, (state, error) in zip(rows, msgs, sent, strict=True):
            attempts = int(row["attempts"]) + 1
            if state == "not_delivered":
                status = state
            elif not error:
                status = "sent"
            elif attempts >= max_attempts:
                status = "failed"
            else:
                status = "retrying"
            outcomes.append((msg.id, attempts, "pending" if status == "retrying" else status,
                             error[:500], retry_s * (2 ** (attempts - 1))))
            if status != "retrying" or attempts == 1:
                # The timeline shows the outcome, and the first failure (so an
                # operator sees at once that relatives may not know yet).
                # "alarm_contact.*", not "alarm.*": wall displays see alarm.* events,
                # and relatives' names do not belong on a public screen.
                timeline.append((f"alarm_contact.{status}", "alarm", msg.alarm_id,
                                 f"system:{sender.name}", {
                                     "alarm_id": msg.alarm_id, "notification_id": msg.id,
                                     "contact": msg.contact_name, "channel": msg.channel,
                                     "attempts": attempts, "reason": error or None}, None))
            if error:
                log.warning("contact message not delivered", extra={
                    "alarm_id": msg.alarm_id, "notification_id": msg.id,
                    "attempts": attempts, "err": scrub_phones(error), "state": status})
        await tx.execute_query(_RECORD, [list(col) for col in zip(*outcomes, strict=True)])
        await events.append_many(tx, timeline)
    return len(msgs)


async def _send_one(sender: ContactSender, msg: OutgoingMessage) -> tuple[str, str]:
    """("sent", "") when a gateway took the message; ("error", why) for a failure
    worth retrying; ("not_delivered", why) when no attempt ever will deliver it."""
    try:
        await asyncio.wait_for(sender.send(msg), SEND_TIMEOUT_S)
    except NotDelivered as exc:
        return "not_delivered", str(exc) or NO_GATEWAY
    except SendError as exc:
        return "error", str(exc) or type(exc).__name__
    except TimeoutError:
        return "error", f"no answer from the gateway in {SEND_TIMEOUT_S:.0f} s"
    return "sent", ""

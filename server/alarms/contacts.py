"""Messages to a device owner's contacts: the outbox and the sender interface.

The alarm's transaction writes one `alarm_notifications` row per contact (the
outbox), so a message exists exactly when its alarm does. A sender task in every
server process claims due rows with FOR UPDATE SKIP LOCKED (two processes never
send the same row at once), sends, and records the outcome with an event on the
alarm's timeline; a failure is retried with exponential backoff until
`send_attempts` is used up, then marked failed.

Delivery is at least once: a process that dies after the gateway accepted a
message but before the row was updated sends it again after restart.

PLUGGING IN A REAL GATEWAY: implement `ContactSender` (an object with `name` and
`async send(message)` that raises `SendError` on failure) — e.g. an SMS
aggregator's HTTP API or the WhatsApp Business Cloud API (template message
`POST /{phone-number-id}/messages`) — and set it as `AlarmConfig.sender` when the
app is created (server/alarms/scheduler.py `setup_alarms`). `LogSender` below is
the implementation shipped here: it writes each message to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from tortoise.transactions import in_transaction

from db import events

log = logging.getLogger("pantau.contacts")


class SendError(Exception):
    """The gateway refused or could not be reached; the message will be retried."""


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
        """Deliver one message or raise SendError."""


class LogSender:
    """Writes each message to the log instead of a gateway (the default here)."""

    name = "log"

    async def send(self, message: OutgoingMessage) -> None:
        log.info("contact message", extra={
            "alarm_id": message.alarm_id, "channel": message.channel,
            "to": message.address, "contact": message.contact_name, "body": message.body})


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


async def send_due(sender: ContactSender, *, max_attempts: int, retry_s: float,
                   batch: int = 20) -> int:
    """Send the messages that are due; returns how many were attempted.

    Each message is claimed, sent and recorded in its own transaction so one slow
    gateway call holds one row lock, and a crash mid-send leaves the row pending.
    """
    attempted = 0
    while attempted < batch:
        async with in_transaction() as tx:
            rows = await tx.execute_query_dict(_CLAIM, [1])
            if not rows:
                return attempted
            row = rows[0]
            msg = OutgoingMessage(int(row["id"]), int(row["alarm_id"]), row["contact_name"],
                                  row["channel"], row["address"], row["body"])
            attempts = int(row["attempts"]) + 1
            error = ""
            try:
                await sender.send(msg)
            except SendError as exc:
                error = str(exc) or type(exc).__name__
            attempted += 1
            if not error:
                status = "sent"
                await tx.execute_query(
                    "UPDATE alarm_notifications SET status = 'sent', attempts = $2,"
                    " sent_at = now(), last_error = '' WHERE id = $1", [msg.id, attempts])
            elif attempts >= max_attempts:
                status = "failed"
                await tx.execute_query(
                    "UPDATE alarm_notifications SET status = 'failed', attempts = $2,"
                    " last_error = $3 WHERE id = $1", [msg.id, attempts, error[:500]])
            else:
                status = "retrying"
                delay = retry_s * (2 ** (attempts - 1))
                await tx.execute_query(
                    "UPDATE alarm_notifications SET attempts = $2, last_error = $3,"
                    " next_attempt_at = now() + make_interval(secs => $4::float8) WHERE id = $1",
                    [msg.id, attempts, error[:500], delay])
            if status != "retrying" or attempts == 1:
                # The timeline shows the outcome, and the first failure (so an
                # operator sees at once that relatives may not know yet).
                # "alarm_contact.*", not "alarm.*": wall displays see alarm.* events,
                # and relatives' names do not belong on a public screen.
                await events.append(tx, f"alarm_contact.{status}", "alarm", msg.alarm_id,
                                    f"system:{sender.name}", {
                                        "alarm_id": msg.alarm_id, "notification_id": msg.id,
                                        "contact": msg.contact_name, "channel": msg.channel,
                                        "attempts": attempts, "error": error})
            if error:
                log.warning("contact message not delivered", extra={
                    "alarm_id": msg.alarm_id, "notification_id": msg.id,
                    "attempts": attempts, "err": error})
    return attempted

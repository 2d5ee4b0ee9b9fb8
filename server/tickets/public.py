"""What the public may see of tickets: one rule for every public surface.

A ticket is a *public report* when a citizen filed it through a public channel
(Open311 or the web form) and no staff member created it. Only public reports
ever appear in Open311 reads or on the status page; panic alarms, 112 calls,
tickets an operator typed in (walk-in, CCTV, or a web complaint taken on
someone's behalf) and internal tickets never do. `PUBLIC_SQL` and `is_public`
are the same rule for SQL and for a row already read.

The status page also wants the reporter's *status key*: a short secret handed
out when the report is filed (in the redirect after the form, in Open311's
`service_notice`). A reference alone is guessable (they are numbered), so it
must not open a complaint; only the SHA-256 of the key is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from db.models import CHANNELS
from server.tickets.records import VIEW_SQL

PUBLIC_CHANNELS = ("open311", "web")
assert set(PUBLIC_CHANNELS) <= set(CHANNELS)


def public_sql(alias: str = "t") -> str:
    """SQL condition: the ticket row `alias` is a public report."""
    channels = ", ".join(f"'{c}'" for c in PUBLIC_CHANNELS)
    return f"({alias}.channel IN ({channels}) AND {alias}.created_by_id IS NULL)"


PUBLIC_SQL = public_sql("t")
# The ticket view (server/tickets/records.py) of public reports; add "AND ...".
PUBLIC_VIEW_SQL = f"{VIEW_SQL} WHERE {PUBLIC_SQL}"


def is_public(row: dict[str, Any]) -> bool:
    """`PUBLIC_SQL` for a tickets row already read (with `channel`, `created_by_id`)."""
    return row["channel"] in PUBLIC_CHANNELS and row["created_by_id"] is None


# Read aloud and typed from paper: no 0/O or 1/I. 12 of 32 symbols are 60 bits,
# far beyond what a rate-limited status page lets anyone try.
KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
KEY_LENGTH = 12


def new_status_key() -> tuple[str, str]:
    """A fresh status key as the reporter sees it (ABCD-EFGH-JKLM) and its stored hash."""
    shown = format_key("".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH)))
    return shown, status_key_hash(shown)


def _normalise(key: str) -> str:
    return "".join(ch for ch in key.upper() if ch.isalnum())


def format_key(key: str) -> str:
    """A key as typed (any case, spaces or dashes) the way the reporter was shown it."""
    raw = _normalise(key)
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def status_key_hash(key: str) -> str:
    return hashlib.sha256(_normalise(key).encode()).hexdigest()


def status_key_matches(row: dict[str, Any], given: str) -> bool:
    """Whether `given` opens this ticket's status page (constant-time compare)."""
    stored = row.get("status_key_hash")
    if not stored or not given or len(given) > 40 or not is_public(row):
        return False
    return hmac.compare_digest(stored, status_key_hash(given))


def status_path(reference: str, key: str) -> str:
    """The status page link the reporter keeps."""
    return f"/lapor/status/{reference}?key={key}"

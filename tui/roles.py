"""Which roles the console offers each action to.

The server is the authority (it answers 403 regardless); the console only hides
what would be refused, so an operator does not learn the rules by error message.
"""

from __future__ import annotations

OPERATORS = ("call_center", "expert", "police", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")

# action name (as in `action_<name>`) -> roles that may use it
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "priority": OPERATORS,
    "triage": OPERATORS,
    "route": OPERATORS,
    "note": OPERATORS,
    "merge": OPERATORS,
    "close": OPERATORS,
    "reject": SUPERVISORS,
    "reopen": SUPERVISORS,
}

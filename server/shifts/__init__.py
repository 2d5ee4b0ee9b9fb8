"""Shifts: roster, swaps, check-in/out, open/close, staffing and handover.

The API (server/routes/shifts.py) and the CLI (server/cli/shifts.py) both call
these functions, so a rule lives in one place. Every change is one transaction
ending in one db.events.append(); functions that may change the staffing state
of an open shift call staffing.reconcile() afterwards, in its own transaction.
"""

"""Tickets: intake from every channel, triage, routing, SLA, duplicates, lifecycle.

Modules are named for what they do: intake (new tickets), lifecycle (status
actions), routing (which department), deadlines/sla/calendar (due times and
whether they are met), duplicates (find, merge, unmerge), notes, queue (the
filtered, urgency-sorted list), records (the ticket JSON), store (the one
locked-write-then-event path), references, places, scheduler (breach events).
HTTP lives in server/routes/tickets.py, open311.py and public_form.py.
"""

"""The event spine: how a change reaches every screen, in one package.

Follow one change, say an operator routing a ticket:

1. The domain code (server/tickets/lifecycle.py) changes the ticket's row and calls
   `db.events.append()` in the same transaction: the event exists exactly when
   the change does. The row gets a temporary negative id.
2. At COMMIT the deferred trigger `events_assign_id_at_commit`
   (db/migrations/0013_event_order_at_commit.sql) takes the event lock, gives the
   row its real id and runs `pg_notify('pantau_events', id)`, so ids become
   visible strictly in order and a rolled-back change notifies nobody.
3. Each server process's `Hub` (hub.py) holds one LISTEN connection; a
   notification wakes it, it reads every event after the last one it delivered
   (`db.events.since`) and offers each to its subscribers' bounded queues.
4. Each WebSocket on `GET /api/events` (routes.py) is one subscriber, filtered by
   `may_see` and shaped by `wire_for` (visibility.py): operators get everything,
   department staff their department's events, walls an allow-listed projection.
5. The screens: the console and the terminal wall (tui/client.py), the wall page
   (server/static/wall.js), the department page (server/static/dept.js). One that
   reconnects sends `?since=<last id>` and routes.py replays the gap from the log;
   one too far behind (`PANTAU_REPLAY_WINDOW`) gets a resync snapshot
   (snapshot.py); a slow one is cut off and told to resync, never slowing others.
   `GET /api/events/recent` gives a screen that starts now what happened just
   before it, and the id to follow the stream from.

Postgres is the only shared state and the event id is the cursor, so nothing is
lost across a client reconnect, a server restart or several server processes.
"""

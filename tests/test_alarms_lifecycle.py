"""An alarm end to end: one press -> alarm + P1 ticket + event to every console and
wall; the lifecycle with its 409s; the timeline; idempotency under concurrent
retries; escalation (also with two server processes); the contact outbox."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from lang.events import describe
from server.alarms.client import DeviceClient
from server.alarms.contacts import OutgoingMessage, SendError
from server.alarms.geo import distance_m
from server.alarms.signing import signed_headers
from server.auth import issue_wall_token
from tests.conftest import Api, next_event
from tests.test_alarms_fixtures import (
    MakeApi,
    alarm_api,
    client_for,
    device,
    enrol,
    fast_config,
    fetch,
    running_server,
    wait_for,
)

__all__ = ["alarm_api"]


async def test_a_press_reaches_every_console_and_wall_with_its_p1_ticket(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-10")
    console = await api.ws(token=await api.login("operator"))
    supervisor = await api.ws(token=await api.login("supervisor"))
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    wall_token, _ = await issue_wall_token(pool, 1, timedelta(hours=1))
    await pool.close()
    wall = await api.ws(token=wall_token)
    for ws in (console, supervisor, wall):
        assert (await ws.receive_json())["type"] == "hello"

    result = await device(api, "braga-10", secret).press()
    assert result.status == 201 and result.body["created"] is True
    alarm_id = result.alarm_id
    # the SQL ranking agrees with the Python haversine over every camera
    cameras = await fetch(db_url, "SELECT code, lat, lon FROM cameras WHERE enabled")
    expected = sorted((round(distance_m(-6.9175, 107.6093, c["lat"], c["lon"])), c["code"])
                      for c in cameras)[:4]
    for ws in (console, supervisor, wall):
        msg = await next_event(ws, "alarm.raised")
        alarm = msg["payload"]["alarm"]
        assert alarm["id"] == alarm_id and alarm["status"] == "raised"
        assert alarm["device"] == "braga-10" and alarm["owner_name"] == "Ibu Braga-10"
        assert alarm["address"] == "Jl. Braga No. 10, Bandung"
        assert (alarm["lat"], alarm["lon"]) == (-6.9175, 107.6093)
        cams = alarm["nearest_cameras"]
        assert cams[0]["code"] == "braga" and cams[0]["distance_m"] < 50
        assert [(c["distance_m"], c["code"]) for c in cams] == expected
        assert all(set(c) == {"code", "name", "distance_m"} for c in cams)
        assert [c["distance_m"] for c in cams] == sorted(c["distance_m"] for c in cams)
        # the alarm goes out first; its P1 ticket follows in the next event
        assert alarm["ticket_reference"] is None
        linked = (await next_event(ws, "alarm.ticket_linked"))["payload"]["alarm"]
        assert linked["id"] == alarm_id
        assert linked["ticket_reference"].startswith("BDG-")
        assert bool(linked.get("ticket_id")) == (ws is not wall)  # walls: no internal ids
        await ws.close()
    # the device is answered as soon as the alarm is out, before its ticket exists
    assert result.body["alarm"]["ticket_reference"] is None
    # a wall (re)loading its page lists the open alarms too
    status, listed = await api.get("/api/alarms", token=wall_token)
    assert status == 200 and [a["id"] for a in listed] == [alarm_id]
    assert (await api.get(f"/api/alarms/{alarm_id}", token=wall_token))[0] == 403
    [ticket] = await fetch(db_url, "SELECT t.* FROM tickets t JOIN panic_alarms a"
                           " ON a.ticket_id = t.id WHERE a.id = $1", alarm_id)
    assert (ticket["channel"], ticket["priority"], ticket["status"]) == ("panic", 1, "new")
    assert ticket["reporter_name"] == "Ibu Braga-10" and "panic" in ticket["tags"]
    created = await fetch(db_url, "SELECT payload FROM events WHERE kind = 'ticket.created'"
                          " AND subject_id = $1", str(ticket["id"]))
    assert len(created) == 1


async def test_lifecycle_steps_conflicts_and_timeline(alarm_api: MakeApi) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-11")
    alarm_id = (await device(api, "braga-11", secret).press()).alarm_id
    op = await api.login("operator")
    base = f"/api/alarms/{alarm_id}"

    assert (await api.post(base + "/dispatch", {"unit": "x"}, token=op))[0] == 409
    status, body = await api.post(base + "/resolve", {"outcome": "resolved"}, token=op)
    assert status == 409 and body["error"] == "invalid_transition"
    status, acked = await api.post(base + "/acknowledge", token=op)
    assert status == 200 and acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == "operator"
    assert (await api.post(base + "/acknowledge", token=op))[0] == 409
    assert (await api.post(base + "/dispatch", {}, token=op))[0] == 400
    status, body = await api.post(base + "/dispatch",
                                  {"unit": "Polsek Sumur Bandung 2", "note": "2 officers"},
                                  token=op)
    assert status == 200 and body["dispatch_unit"] == "Polsek Sumur Bandung 2"
    assert (await api.post(base + "/resolve", {"outcome": "maybe"}, token=op))[0] == 400
    status, open_list = await api.get("/api/alarms", token=op)
    assert status == 200 and alarm_id in [a["id"] for a in open_list]
    status, body = await api.post(base + "/resolve",
                                  {"outcome": "false_alarm", "note": "child pressed it"},
                                  token=op)
    assert status == 200 and body["status"] == "false_alarm"
    assert (await api.post(base + "/acknowledge", token=op))[0] == 409
    assert alarm_id not in [a["id"] for a in (await api.get("/api/alarms", token=op))[1]]
    assert alarm_id in [a["id"] for a in (await api.get("/api/alarms?all=1", token=op))[1]]
    assert (await api.post("/api/alarms/999999/acknowledge", token=op))[0] == 404
    assert (await api.get("/api/alarms/abc", token=op))[0] == 404
    assert (await api.get("/api/alarms?limit=0", token=op))[0] == 400
    dept = await api.login("dsdabm.staff")
    assert (await api.post(base + "/acknowledge", token=dept))[0] == 403

    # its P1 ticket is linked in the background, at some point after the alarm
    detail: dict[str, Any] = {}

    async def linked() -> bool:
        nonlocal detail
        status, detail = await api.get(base, token=op)
        assert status == 200
        return any(s["kind"] == "alarm.ticket_linked" for s in detail["timeline"])

    await wait_for(linked, timeout=10)
    steps = detail["timeline"]
    assert [s["kind"] for s in steps].count("alarm.ticket_linked") == 1
    assert steps[0]["kind"] == "alarm.raised"
    steps = [s for s in steps if s["kind"] != "alarm.ticket_linked"]
    assert [s["kind"] for s in steps] == ["alarm.raised", "alarm.acknowledged",
                                          "alarm.dispatched", "alarm.false_alarm"]
    assert [s["status"] for s in steps] == ["raised", "acknowledged", "dispatched",
                                            "false_alarm"]
    times = [datetime.fromisoformat(s["at"]) for s in steps]
    assert times == sorted(times)
    assert steps[2]["unit"] == "Polsek Sumur Bandung 2" and steps[3]["note"] == "child pressed it"
    assert steps[1]["actor"] == "person:operator" and steps[0]["actor"] == "device:braga-11"
    # Each step names the place, so the timeline reads "panic alarm at <address>".
    assert steps[0]["address"] and steps[0]["device"] == "braga-11"
    assert describe("en", "alarm.raised", steps[0]["actor"], steps[0]).find(
        steps[0]["address"]) >= 0


async def test_concurrent_retries_with_one_key_raise_one_alarm(
        alarm_api: MakeApi, db_url: str) -> None:
    """A device that timed out and retried while the first attempt was still in
    flight: 20 differently-signed requests with one Idempotency-Key at once."""
    api = await alarm_api()
    _, secret = await enrol(api, "braga-12")
    ws = await api.ws(token=await api.login("operator"))
    await ws.receive_json()
    body = b"{}"

    async def attempt(i: int) -> tuple[int, Any]:
        headers = signed_headers("braga-12", secret, "POST", "/api/alarms", body,
                                 key="press-1", now=time.time() - i / 10)  # signed anew
        return await api.request("POST", "/api/alarms", data=body, headers=headers)

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sorted(s for s, _ in results) == [200] * 19 + [201]
    assert len({b["alarm"]["id"] for _, b in results}) == 1
    alarm_id = results[0][1]["alarm"]["id"]
    assert len(await fetch(db_url, "SELECT 1 FROM panic_alarms")) == 1
    assert len(await fetch(db_url, "SELECT 1 FROM tickets WHERE channel = 'panic'")) == 1
    raised = await fetch(db_url, "SELECT subject_id FROM events WHERE kind = 'alarm.raised'")
    assert [r["subject_id"] for r in raised] == [str(alarm_id)]
    assert (await next_event(ws, "alarm.raised"))["payload"]["alarm"]["id"] == alarm_id
    # the same bytes sent twice at once: one is served, the other is a replay
    headers = signed_headers("braga-12", secret, "POST", "/api/alarms", body, key="press-2")
    twice = await asyncio.gather(*(api.request("POST", "/api/alarms", data=body,
                                               headers=headers) for _ in range(2)))
    assert sorted(s for s, _ in twice) == [201, 401]
    # the device's own press(): a new key is a new alarm
    again = await device(api, "braga-12", secret).press()
    assert again.status == 201 and again.alarm_id != alarm_id
    await ws.close()


async def test_escalation_timeline_stops_at_acknowledgement(alarm_api: MakeApi) -> None:
    api = await alarm_api(escalate_after_s=0.6, escalate_step_s=0.6)
    _, secret = await enrol(api, "braga-13")
    unit = device(api, "braga-13", secret)
    op = await api.login("operator")
    ws = await api.ws(token=op)
    await ws.receive_json()
    ignored = (await unit.press()).alarm_id
    handled = (await unit.press()).alarm_id
    assert (await api.post(f"/api/alarms/{handled}/acknowledge", token=op))[0] == 200

    first = await next_event(ws, "alarm.escalated", timeout=5)
    second = await next_event(ws, "alarm.escalated", timeout=5)
    assert [(e["subject"]["id"], e["payload"]["level"], e["payload"]["to"])
            for e in (first, second)] == [(str(ignored), 1, "supervisor"),
                                          (str(ignored), 2, "police_desk")]
    await asyncio.sleep(1.5)  # several more ticks: nothing further escalates
    _, detail = await api.get(f"/api/alarms/{ignored}", token=op)
    steps = [s for s in detail["timeline"] if s["kind"] != "alarm.ticket_linked"]
    assert [s["kind"] for s in steps] == ["alarm.raised", "alarm.escalated", "alarm.escalated"]
    raised, esc1, esc2 = (datetime.fromisoformat(s["at"]) for s in steps)
    # never early; the upper bounds are loose because the test machine is shared
    assert timedelta(seconds=0.6) <= esc1 - raised < timedelta(seconds=4)
    assert timedelta(seconds=1.2) <= esc2 - raised < timedelta(seconds=5)
    assert esc1 < esc2
    assert detail["escalation_level"] == 2
    _, handled_detail = await api.get(f"/api/alarms/{handled}", token=op)
    # the ticket is linked in the background, before or after the acknowledgement
    kinds = [s["kind"] for s in handled_detail["timeline"]]
    assert kinds[0] == "alarm.raised" and sorted(kinds[1:]) == [
        "alarm.acknowledged", "alarm.ticket_linked"]
    assert handled_detail["escalation_level"] == 0
    # acknowledging late is still allowed, and stops nothing already recorded
    assert (await api.post(f"/api/alarms/{ignored}/acknowledge", token=op))[0] == 200
    await ws.close()


async def test_two_server_processes_escalate_each_step_once(db_url: str) -> None:
    """This test's server plus a real `pantau serve` process on the same database,
    both running the escalation scheduler every 20 ms."""
    env = {**os.environ, "DATABASE_URL": db_url, "PANTAU_ALARM_ESCALATE_AFTER": "0.3",
           "PANTAU_ALARM_ESCALATE_STEP": "0.3", "PANTAU_ALARM_TICK": "0.02",
           "PANTAU_LOG_FORMAT": "text"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    other = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "pantau"), "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        cfg = dict(escalate_after_s=0.3, escalate_step_s=0.3, tick_s=0.02)
        async with running_server(db_url, fast_config(**cfg)) as one, client_for(one) as api:
            other_api = Api(f"http://127.0.0.1:{port}", api.session)

            async def other_up() -> bool:
                try:
                    return (await other_api.get("/healthz"))[0] == 200
                except OSError:
                    return False

            await wait_for(other_up, timeout=30, every=0.1)
            _, secret = await enrol(api, "braga-14")
            unit = device(api, "braga-14", secret)
            ids = [(await unit.press()).alarm_id for _ in range(10)]

            async def done() -> bool:
                rows = await fetch(db_url, "SELECT count(*) AS n FROM panic_alarms"
                                   " WHERE escalation_level = 2")
                return bool(rows[0]["n"] == len(ids))

            await wait_for(done, timeout=10)
            await asyncio.sleep(0.3)
    finally:
        other.send_signal(signal.SIGINT)
        await asyncio.wait_for(other.wait(), 15)
    rows = await fetch(db_url, "SELECT subject_id, actor, payload->>'level' AS level"
                       " FROM events WHERE kind = 'alarm.escalated' ORDER BY id")
    pairs = [(int(r["subject_id"]), int(r["level"])) for r in rows]
    assert sorted(pairs) == sorted((i, lvl) for i in ids for lvl in (1, 2))


class FlakySender:
    """A gateway that fails the first `failures` attempts of every message."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: dict[int, int] = {}
        self.delivered: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        self.seen[message.id] = self.seen.get(message.id, 0) + 1
        if self.seen[message.id] <= self.failures:
            raise SendError("gateway timeout")
        self.delivered.append(message)


async def test_contacts_are_messaged_with_retries_and_state_on_the_alarm(
        alarm_api: MakeApi) -> None:
    sender = FlakySender(failures=2)
    api = await alarm_api(sender=sender, send_attempts=5)
    contacts = [{"name": "Budi", "phone": "+6281234567890", "channel": "whatsapp"},
                {"name": "Sari", "phone": "081298765432", "channel": "sms"}]
    _, secret = await enrol(api, "braga-15", contacts=contacts)
    alarm_id = (await device(api, "braga-15", secret).press()).alarm_id
    op = await api.login("operator")

    async def all_sent() -> bool:
        _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
        return all(n["state"] == "sent" for n in detail["notifications"])

    await wait_for(all_sent, timeout=10)
    _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
    notes = detail["notifications"]
    assert [(n["contact"], n["channel"], n["attempts"], n["reason"]) for n in notes] == [
        ("Budi", "whatsapp", 3, None), ("Sari", "sms", 3, None)]
    assert len(sender.delivered) == 2 and "Ibu Braga-15" in sender.delivered[0].body
    kinds = [s["kind"] for s in detail["timeline"]]
    assert kinds.count("alarm_contact.retrying") == 2 and kinds.count("alarm_contact.sent") == 2
    # the wall never receives phone numbers in alarm payloads
    assert "+6281234567890" not in str(detail["timeline"])


async def test_a_message_that_never_goes_through_is_marked_failed(alarm_api: MakeApi) -> None:
    api = await alarm_api(sender=FlakySender(failures=99), send_attempts=2)
    _, secret = await enrol(api, "braga-16",
                            contacts=[{"name": "Budi", "phone": "+6281234567890"}])
    alarm_id = (await device(api, "braga-16", secret).press()).alarm_id
    op = await api.login("operator")

    async def failed() -> bool:
        _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
        return bool(detail["notifications"][0]["state"] == "failed")

    await wait_for(failed, timeout=10)
    _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
    note = detail["notifications"][0]
    assert note["attempts"] == 2 and note["reason"] == "gateway timeout"
    assert "alarm_contact.failed" in [s["kind"] for s in detail["timeline"]]


async def test_a_message_waiting_for_its_retry_says_retrying_and_why(
        alarm_api: MakeApi) -> None:
    api = await alarm_api(sender=FlakySender(failures=99), send_attempts=5, send_retry_s=60)
    _, secret = await enrol(api, "braga-18",
                            contacts=[{"name": "Budi", "phone": "+6281234567890"}])
    alarm_id = (await device(api, "braga-18", secret).press()).alarm_id
    op = await api.login("operator")

    async def retrying() -> bool:
        _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
        return bool(detail["notifications"][0]["state"] == "retrying")

    await wait_for(retrying, timeout=10)
    _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
    note = detail["notifications"][0]
    assert note["reason"] == "gateway timeout" and note["next_attempt_at"]
    assert [s["kind"] for s in detail["timeline"] if s["kind"].startswith("alarm_contact")] \
        == ["alarm_contact.retrying"]


async def test_without_a_gateway_no_message_is_sent(alarm_api: MakeApi, db_url: str) -> None:
    """The default sender only writes to the log: every message is `not_delivered`
    with the reason, at once and once, and nothing on the timeline says sent."""
    api = await alarm_api()  # the shipped default: LogSender
    contacts = [{"name": "Budi", "phone": "+6281234567890", "channel": "whatsapp"},
                {"name": "Sari", "phone": "081298765432", "channel": "sms"}]
    _, secret = await enrol(api, "braga-19", contacts=contacts)
    alarm_id = (await device(api, "braga-19", secret).press()).alarm_id
    op = await api.login("operator")

    async def handled() -> bool:
        _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
        return all(n["state"] != "pending" for n in detail["notifications"])

    await wait_for(handled, timeout=10)
    _, detail = await api.get(f"/api/alarms/{alarm_id}", token=op)
    assert [(n["contact"], n["state"], n["reason"], n["sent_at"], n["attempts"])
            for n in detail["notifications"]] == [
        ("Budi", "not_delivered", "no gateway configured", None, 1),
        ("Sari", "not_delivered", "no gateway configured", None, 1)]
    contact_steps = [s for s in detail["timeline"] if s["kind"].startswith("alarm_contact")]
    assert [(s["kind"], s["actor"], s["reason"]) for s in contact_steps] == [
        ("alarm_contact.not_delivered", "system:log", "no gateway configured")] * 2
    # out of the outbox (only `pending` rows are ever claimed again): never retried
    rows = await fetch(db_url, "SELECT status, attempts, sent_at FROM alarm_notifications"
                       " WHERE alarm_id = $1", alarm_id)
    assert [(r["status"], r["attempts"], r["sent_at"]) for r in rows] == \
        [("not_delivered", 1, None)] * 2


async def test_device_client_retries_until_the_server_answers(alarm_api: MakeApi) -> None:
    """press() against a port where nothing listens yet keeps trying, then succeeds
    once the server is there, with the same idempotency key throughout."""
    api = await alarm_api()
    _, secret = await enrol(api, "braga-17")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    unit = DeviceClient(f"http://127.0.0.1:{dead_port}", "braga-17", secret, api.session,
                        first_backoff_s=0.05)
    try:
        await unit.press(deadline_s=0.5)
    except Exception as exc:
        assert type(exc).__name__ == "GaveUp"
    else:
        raise AssertionError("press against a dead port succeeded")
    live = DeviceClient(api.base, "braga-17", secret, api.session)
    result = await live.press(key="fixed-key")
    repeat = await live.press(key="fixed-key")
    assert (result.status, repeat.status) == (201, 200)
    assert result.alarm_id == repeat.alarm_id


async def test_an_alarm_left_without_its_ticket_is_repaired_once(db_url: str) -> None:
    """A process that died between the alarm's commit and its ticket: the timers
    of two server processes link exactly one ticket."""
    conn = await asyncpg.connect(db_url)
    device_id = await conn.fetchval("SELECT id FROM devices WHERE code = 'demo-braga'")
    alarm_id = await conn.fetchval(
        "INSERT INTO panic_alarms (device_id, idempotency_key, lat, lon, raised_at)"
        " VALUES ($1, 'crashed', -6.9172, 107.6094, now() - interval '5 seconds')"
        " RETURNING id", device_id)
    await conn.close()
    async with running_server(db_url, fast_config(tick_s=0.05)), \
            running_server(db_url, fast_config(tick_s=0.05)):
        async def linked() -> bool:
            rows = await fetch(db_url, "SELECT ticket_id FROM panic_alarms WHERE id = $1",
                               alarm_id)
            return rows[0]["ticket_id"] is not None

        await wait_for(linked, timeout=10)
        await asyncio.sleep(0.5)  # more ticks in both processes: nothing more happens
    tickets = await fetch(db_url, "SELECT id FROM tickets WHERE attributes->>'alarm_id' = $1",
                          str(alarm_id))
    events = await fetch(db_url, "SELECT id FROM events WHERE kind = 'alarm.ticket_linked'"
                         " AND subject_id = $1", str(alarm_id))
    assert len(tickets) == 1 and len(events) == 1

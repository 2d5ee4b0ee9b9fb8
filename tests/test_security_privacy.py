"""Privacy by channel, attacked against a real server and real Postgres (issue 12).

Each test plays a hostile or careless caller: an anonymous Open311 reader walking
every reference, a stranger guessing status pages, a wall display reading what a
wall must never show, a wall watching another monitor's cameras, a client asking
to replay the whole event log. Real alarms come from signed device presses.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from tests.conftest import Api
from tests.test_alarms_fixtures import MakeApi, alarm_api, device, enrol, fetch, wait_for

__all__ = ["alarm_api"]

OPEN311 = "/open311/v2"
KEY = "demo-open311-key"
# What a reporter, caller or device owner typed: none of it may reach a public reader.
NAME, PHONE, EMAIL = "Wawan Setiawan", "081377700123", "wawan.setiawan@example.id"


async def _text(api: Api, path: str, **params: str) -> tuple[int, str]:
    async with api.session.get(api.base + path, params=params or None) as resp:
        return resp.status, await resp.text()


async def _file_every_channel(api: Api, db_url: str) -> dict[str, str]:
    """One ticket per way in, each with the same reporter; returns channel -> reference."""
    refs: dict[str, str] = {}
    async with api.session.post(f"{api.base}{OPEN311}/requests.json", data={
            "api_key": KEY, "service_code": "jalan-rusak", "lat": "-6.9175",
            "long": "107.6093", "description": "Jalan berlubang di Braga",
            "first_name": "Wawan", "last_name": "Setiawan", "phone": PHONE,
            "email": EMAIL}) as resp:
        assert resp.status == 201
        refs["open311"] = (await resp.json())[0]["service_request_id"]
    async with api.session.post(f"{api.base}/lapor", allow_redirects=False, data={
            "category": "sampah", "description": "Sampah menumpuk", "address": "Jl. Dago 1",
            "district": "coblong", "name": NAME, "phone": PHONE, "email": EMAIL}) as resp:
        assert resp.status == 303
        refs["web"] = re.search(r"BDG-\d{4}-\d{5}", resp.headers["Location"]).group(0)  # type: ignore[union-attr]
    op = await api.login("operator")
    for channel in ("web", "cctv", "walk_in"):
        status, body = await api.post("/api/tickets", {
            "channel": channel, "description": f"Dicatat operator ({channel})",
            "category": "banjir", "district": "coblong",
            "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL}}, token=op)
        assert status == 201, body
        refs[f"operator_{channel}"] = body["reference"]
    status, body = await api.post("/api/calls", {
        "caller_number": PHONE, "caller_name": NAME, "what_happened": "Kecelakaan motor",
        "location": "Jl. Asia Afrika", "category": "kecelakaan"}, token=op)
    assert status == 201, body
    refs["call112"] = body["reference"]
    _, secret = await enrol(api, "privacy-1", contacts=[
        {"name": "Anak", "phone": "+6281299900077", "channel": "sms"}])
    alarm_id = (await device(api, "privacy-1", secret).press()).alarm_id

    async def linked() -> bool:
        rows = await fetch(db_url, "SELECT t.reference FROM panic_alarms a JOIN tickets t"
                           " ON t.id = a.ticket_id WHERE a.id = $1", alarm_id)
        if rows:
            refs["panic"] = rows[0]["reference"]
        return bool(rows)

    await wait_for(linked)
    return refs


PUBLIC = ("open311", "web")
SECRETS = (NAME, "Wawan", PHONE, EMAIL, "Ibu Privacy-1", "Jl. Braga No. 10", "+6281299900077")


async def test_open311_reads_show_only_public_reports_never_alarms_calls_or_staff_tickets(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api()
    refs = await _file_every_channel(api, db_url)
    public = {refs[c] for c in PUBLIC}
    hidden = {c: r for c, r in refs.items() if c not in PUBLIC}

    # The whole list, as JSON and XML, and asked for by every reference at once.
    status, listing = await _text(api, f"{OPEN311}/requests.json")
    assert status == 200
    listed = {r["service_request_id"] for r in json.loads(listing)}
    assert public <= listed and not listed & set(hidden.values())
    status, xml = await _text(api, f"{OPEN311}/requests.xml")
    assert status == 200
    xml_listed = {el.text for el in ET.fromstring(xml).iter("service_request_id")}
    assert xml_listed == listed
    status, asked = await _text(api, f"{OPEN311}/requests.json",
                                service_request_id=",".join(refs.values()))
    assert {r["service_request_id"] for r in json.loads(asked)} == public
    for body in (listing, xml, asked):
        assert not [s for s in SECRETS if s in body]

    # Every listed request is a public report by the database's own account.
    rows = await fetch(db_url, "SELECT reference, channel, created_by_id FROM tickets"
                       " WHERE reference = ANY($1::text[])", list(listed))
    assert len(rows) == len(listed)
    assert all(r["channel"] in PUBLIC and r["created_by_id"] is None for r in rows)

    # One by one: the public ones answer, every other channel is an unknown id.
    for channel, ref in refs.items():
        for fmt in ("json", "xml"):
            status, body = await _text(api, f"{OPEN311}/requests/{ref}.{fmt}")
            if channel in PUBLIC:
                assert status == 200 and ref in body
                assert not [s for s in SECRETS if s in body], (channel, fmt)
            else:
                assert status == 404, (channel, fmt, body)
                assert "Kecelakaan" not in body and "panic" not in body.lower()


async def _status_404_body(api: Api) -> str:
    status, body = await _text(api, "/lapor/status/BDG-0000-99999")
    assert status == 404
    return body


async def test_status_page_needs_the_reporters_key_and_shows_nothing_without_it(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api()
    unknown = await _status_404_body(api)
    refs = await _file_every_channel(api, db_url)
    keys: dict[str, str] = {}
    async with api.session.post(f"{api.base}/lapor", allow_redirects=False, data={
            "category": "sampah", "description": "Sampah lagi", "district": "andir"}) as resp:
        m = re.search(r"/lapor/status/(BDG-\d{4}-\d{5})\?key=([A-Z0-9-]+)",
                      resp.headers["Location"])
        assert m
        keys[m.group(1)] = m.group(2)
    async with api.session.post(f"{api.base}{OPEN311}/requests.json", data={
            "api_key": KEY, "service_code": "sampah", "address_string": "Jl. Riau 5",
            "description": "Sampah di trotoar"}) as resp:
        notice = (await resp.json())[0]["service_notice"]
    m = re.search(r"https?://[^ ]+/lapor/status/(BDG-\d{4}-\d{5})\?key=([A-Z0-9-]+)", notice)
    assert m, notice
    keys[m.group(1)] = m.group(2)

    for ref, key in keys.items():
        status, body = await _text(api, f"/lapor/status/{ref}", key=key)
        assert status == 200 and ref in body
        for wrong in ("", "AAAA-AAAA-AAAA", key[:-1], next(k for r, k in keys.items()
                                                          if r != ref)):
            status, body = await _text(api, f"/lapor/status/{ref}", key=wrong)
            # exactly the unknown-reference page: nothing tells a guesser it exists
            assert (status, body) == (404, unknown), wrong
        status, body = await _text(api, "/lapor/status", reference=ref)
        assert (status, body) == (404, unknown)

    # Alarms, calls and staff tickets have no key at all; no key opens them.
    for channel, ref in refs.items():
        for key in ("", *keys.values()):
            status, body = await _text(api, f"/lapor/status/{ref}", key=key)
            assert (status, body) == (404, unknown), channel
    # Walking the numbered demo references finds nothing.
    for n in range(1, 41):
        status, _ = await _text(api, f"/lapor/status/DEMO-{n:05d}")
        assert status == 404

    # Only a hash is kept: the key itself is nowhere in the ticket's row.
    for ref, key in keys.items():
        [row] = await fetch(db_url, "SELECT to_jsonb(t)::text AS row, status_key_hash"
                            " FROM tickets t WHERE reference = $1", ref)
        assert key not in row["row"] and key.replace("-", "") not in row["row"]
        assert re.fullmatch(r"[0-9a-f]{64}", row["status_key_hash"])

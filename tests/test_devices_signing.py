"""Device registry and signed requests: every refusal is 401/403 (or 400), logged,
and creates no alarm; rotation; heartbeats and the offline state."""

from __future__ import annotations

import json
import logging
import time

import pytest

from server.alarms.signing import signed_headers
from tests.conftest import next_event
from tests.test_alarms_fixtures import MakeApi, alarm_api, device, enrol, fetch

__all__ = ["alarm_api"]


async def test_enrolment_shows_the_secret_once_and_needs_a_supervisor(
        alarm_api: MakeApi) -> None:
    api = await alarm_api()
    dev, secret = await enrol(api, "braga-01", contacts=[
        {"name": "Budi", "phone": "+62 812 3456 7890", "channel": "whatsapp"}])
    assert secret.startswith("pds_") and len(secret) > 40
    assert dev["state"] == "never_seen" and dev["contacts"][0]["phone"] == "+6281234567890"
    sup = await api.login("supervisor")
    status, listed = await api.get("/api/devices", token=sup)
    assert status == 200 and secret not in json.dumps(listed)
    assert all("secret" not in d for d in listed)
    assert [d["code"] for d in listed if d["code"] == "braga-01"] == ["braga-01"]
    status, one = await api.get("/api/devices/braga-01", token=sup)
    assert status == 200 and "secret" not in one and secret not in json.dumps(one)
    status, body = await api.post("/api/devices", {"code": "braga-01", "owner_name": "X",
                                                   "lat": -6.9, "lon": 107.6}, token=sup)
    assert status == 409
    status, body = await api.post("/api/devices", {"code": "Bad Code!", "owner_name": "",
                                                   "lat": 91, "lon": "x"}, token=sup)
    assert status == 400 and set(body["fields"]) == {"owner_name", "lat", "lon"}
    status, body = await api.post("/api/devices", {
        "code": "c-1", "owner_name": "X", "lat": -6.9, "lon": 107.6,
        "contacts": [{"name": "A", "phone": "not-a-phone"}]}, token=sup)
    assert status == 400 and "contacts" in body["fields"]
    operator = await api.login("operator")
    status, _ = await api.post("/api/devices", {"code": "c-2", "owner_name": "X",
                                                "lat": -6.9, "lon": 107.6}, token=operator)
    assert status == 403
    assert (await api.post("/api/devices/nope/rotate", token=sup))[0] == 404


async def test_every_bad_request_is_refused_logged_and_raises_nothing(
        alarm_api: MakeApi, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "braga-02")
    caplog.set_level(logging.WARNING, logger="pantau.devices")
    body = b"{}"
    key = {"Idempotency-Key": "k-1"}

    async def post(headers: dict[str, str], data: bytes = body) -> tuple[int, object]:
        return await api.request("POST", "/api/alarms", data=data, headers=headers)

    good = signed_headers("braga-02", secret, "POST", "/api/alarms", body, key="k-1")
    # unsigned
    status, resp = await post({"Content-Type": "application/json", **key})
    assert status == 401 and resp["error"] == "unauthorised"  # type: ignore[index]
    # wrong secret
    assert (await post({**signed_headers("braga-02", "pds_wrong", "POST", "/api/alarms",
                                         body), **key}))[0] == 401
    # the idempotency key is signed too: swapping it in flight breaks the signature
    assert (await post({**good, "Idempotency-Key": "k-other"}))[0] == 401
    # signature over another body (tampered in flight)
    assert (await post({**good, **key}, b'{"lat": -6.0, "lon": 107.0}'))[0] == 401
    # signature for another path
    assert (await post({**signed_headers("braga-02", secret, "POST", "/api/devices/heartbeat",
                                         body), **key}))[0] == 401
    # a timestamp outside the window, either way
    for skew in (-120, 120):
        stale = signed_headers("braga-02", secret, "POST", "/api/alarms", body,
                               now=time.time() + skew)
        assert (await post({**stale, **key}))[0] == 401
    # unknown device
    assert (await post({**signed_headers("ghost-99", secret, "POST", "/api/alarms", body),
                        **key}))[0] == 401
    # garbage credentials
    assert (await post({**good, "X-Pantau-Signature": "zz", **key}))[0] == 401
    assert (await post({**good, "X-Pantau-Timestamp": "yesterday", **key}))[0] == 401
    # a person's token is not a device credential
    op = await api.login("operator")
    assert (await post({"Authorization": f"Bearer {op}", **key}))[0] == 403
    # malformed idempotency keys, correctly signed: 400 (a malformed body raises the
    # alarm at the enrolled place: tests/test_alarms_bad_location.py)
    for data, k in ((b"{}", ""), (b"{}", "has spaces")):
        signed = signed_headers("braga-02", secret, "POST", "/api/alarms", data, key=k)
        assert (await post(signed, data))[0] == 400, data
    assert not await fetch(db_url, "SELECT 1 FROM panic_alarms")

    # the genuine request works once; the identical bytes again are a replay
    assert (await post(good))[0] == 201
    status, resp = await post(good)
    assert status == 401 and "replay" in resp["message"]  # type: ignore[index]
    # disabled device: 403
    sup = await api.login("supervisor")
    assert (await api.post("/api/devices/braga-02/disable", token=sup))[0] == 200
    fresh = signed_headers("braga-02", secret, "POST", "/api/alarms", body, key="k-2")
    status, resp = await post(fresh)
    assert status == 403 and resp["message"] == "device is disabled"  # type: ignore[index]

    assert len(await fetch(db_url, "SELECT 1 FROM panic_alarms")) == 1
    reasons = [r.reason for r in caplog.records  # type: ignore[attr-defined]
               if r.getMessage() == "device request refused"]
    for reason in ("unsigned", "bad_signature", "stale", "unknown_device", "malformed",
                   "bad_timestamp", "replay", "disabled"):
        assert reason in reasons, reason


async def test_a_rotated_secret_replaces_the_old_one(alarm_api: MakeApi) -> None:
    api = await alarm_api()
    _, old = await enrol(api, "braga-03")
    sup = await api.login("supervisor")
    status, body = await api.post("/api/devices/braga-03/rotate", token=sup)
    assert status == 200 and body["secret"] != old and body["device"]["secret_rotated_at"]
    status, _ = await device(api, "braga-03", old).send("POST", "/api/devices/heartbeat")
    assert status == 401
    status, ok = await device(api, "braga-03", body["secret"]).send(
        "POST", "/api/devices/heartbeat")
    assert status == 200 and ok["ok"] is True


async def test_silent_device_goes_offline_and_a_heartbeat_brings_it_back(
        alarm_api: MakeApi, db_url: str) -> None:
    api = await alarm_api(offline_after_s=0.5)
    op = await api.login("operator")
    ws = await api.ws(token=op)
    _, secret = await enrol(api, "braga-04")
    unit = device(api, "braga-04", secret)
    await unit.heartbeat()
    # (the never-seen demo devices go offline too; wait for ours)
    while (await next_event(ws, "device.offline", timeout=5))["payload"]["device"] != "braga-04":
        pass
    sup = await api.login("supervisor")
    assert (await api.get("/api/devices/braga-04", token=sup))[1]["state"] == "offline"
    result = await unit.heartbeat()
    assert result.body == {"ok": True, "device": "braga-04", "was_offline": True}
    online = await next_event(ws, "device.online", timeout=5)
    assert online["payload"]["device"] == "braga-04"
    # one offline event per silence, not one per scheduler tick
    rows = await fetch(db_url, "SELECT count(*) AS n FROM events e JOIN devices d"
                       " ON e.subject_id = d.id::text WHERE e.kind = 'device.offline'"
                       " AND d.code = 'braga-04'")
    assert rows[0]["n"] == 1
    await ws.close()

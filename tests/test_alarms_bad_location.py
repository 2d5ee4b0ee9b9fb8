"""A signed press whose location is unusable still raises its alarm, at the
device's enrolled location, and says which field it ignored.

A panic button that sends `lat: NaN` (a GPS module without a fix, a firmware
bug) is still a person pressing for help: refusing the press (or failing on it)
leaves them with nothing while the unit retries forever.
"""

from __future__ import annotations

import logging

import pytest

from server.alarms.signing import signed_headers
from tests.conftest import next_event
from tests.test_alarms_fixtures import MakeApi, alarm_api, enrol, fetch

__all__ = ["alarm_api"]

ENROLLED = (-6.9175, 107.6093)

BAD_BODIES: list[tuple[bytes, set[str]]] = [
    (b'{"lat": NaN, "lon": 107.6}', {"lat"}),
    (b'{"lat": -6.9, "lon": Infinity}', {"lon"}),
    (b'{"lat": -Infinity, "lon": NaN}', {"lat", "lon"}),
    (b'{"lat": 95, "lon": 107.6}', {"lat"}),
    (b'{"lat": "-6.9", "lon": 107.6}', {"lat"}),
    (b'{"lat": true, "lon": 107.6}', {"lat"}),
    (b'{"lat": -6.9}', {"lon"}),
    (b'{"lat": 1e400, "lon": 107.6}', {"lat"}),
    (b'{"lat": -6.9, "lon": 1' + b"0" * 400 + b"}", {"lon"}),
    (b'{"lat": -6.9, "lon": 1' + b"0" * 5000 + b"}", {"body"}),
    (b'{"lat": null, "lon": [1]}', {"lon"}),
    (b"{not json", {"body"}),
    (b"[1, 2]", {"body"}),
    (b'{"lat": "\\ud800", "lon": 107.6}', {"lat"}),
    (b"\xff\xfe", {"body"}),
]


async def test_a_bad_location_raises_the_alarm_at_the_enrolled_place(
        alarm_api: MakeApi, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "gps-01", lat=ENROLLED[0], lon=ENROLLED[1])
    caplog.set_level(logging.WARNING, logger="pantau.devices")
    op = await api.login("operator")
    ws = await api.ws(token=op)
    for n, (body, fields) in enumerate(BAD_BODIES):
        key = f"press-{n}"
        headers = signed_headers("gps-01", secret, "POST", "/api/alarms", body, key=key)
        status, resp = await api.request("POST", "/api/alarms", data=body, headers=headers)
        assert status == 201, (body, resp)
        assert set(resp["ignored"]) == fields, (body, resp)
        alarm = resp["alarm"]
        assert (alarm["lat"], alarm["lon"]) == ENROLLED, body
        assert alarm["address"] == "Jl. Braga No. 10, Bandung"
        raised = await next_event(ws, "alarm.raised")
        assert raised["payload"]["alarm"]["id"] == alarm["id"]
        # The unit retries (a lost answer): the same alarm, the same report.
        again = signed_headers("gps-01", secret, "POST", "/api/alarms", body, key=key)
        status, resp = await api.request("POST", "/api/alarms", data=body, headers=again)
        assert status == 200 and resp["alarm"]["id"] == alarm["id"]
        assert set(resp["ignored"]) == fields
    await ws.close()
    rows = await fetch(db_url, "SELECT lat, lon FROM panic_alarms ORDER BY id")
    assert [(r["lat"], r["lon"]) for r in rows] == [ENROLLED] * len(BAD_BODIES)
    logged = [r for r in caplog.records if r.getMessage().startswith("device sent")]
    assert len(logged) == 2 * len(BAD_BODIES)
    assert logged[0].device == "gps-01" and "lat" in logged[0].fields  # type: ignore[attr-defined]


async def test_a_good_location_is_used_and_nothing_is_ignored(
        alarm_api: MakeApi) -> None:
    api = await alarm_api()
    _, secret = await enrol(api, "gps-02", lat=ENROLLED[0], lon=ENROLLED[1])
    body = b'{"lat": -6.9, "lon": 107.61}'
    headers = signed_headers("gps-02", secret, "POST", "/api/alarms", body, key="k")
    status, resp = await api.request("POST", "/api/alarms", data=body, headers=headers)
    assert status == 201 and "ignored" not in resp
    assert (resp["alarm"]["lat"], resp["alarm"]["lon"]) == (-6.9, 107.61)

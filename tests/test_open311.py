"""Open311 GeoReport v2: the wire format exactly as the spec shapes it (JSON and
XML), the api_key, validation and error lists, filters and defaults, and an
Open311 client library from PyPI (`georeport`) reading our endpoint unchanged."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from typing import Any

import aiohttp
import asyncpg
from georeport import GeoReport

from tests.conftest import Api

KEY = "demo-open311-key"
BASE = "/open311/v2"
REQUEST_KEYS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                "description", "agency_responsible", "service_notice", "requested_datetime",
                "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                "lat", "long", "media_url"]


async def _post(api: Api, fmt: str = "json", **form: str) -> tuple[int, str, Any]:
    data = {"api_key": KEY, "service_code": "jalan-rusak", "lat": "-6.9175",
            "long": "107.6093", "description": "Lubang besar di Jl. Braga", **form}
    data = {k: v for k, v in data.items() if v is not None}
    async with api.session.post(f"{api.base}{BASE}/requests.{fmt}", data=data) as resp:
        text = await resp.text()
        return resp.status, resp.headers["Content-Type"], text


async def test_post_creates_a_ticket_and_answers_as_the_spec(api: Api) -> None:
    status, ctype, text = await _post(api, first_name="Asep", last_name="Sunarya",
                                      email="asep@example.id", phone="081234567890",
                                      **{"attribute[tingkat]": "berat",
                                         "attribute[rt_rw]": "RT 03/RW 05"})
    assert status == 201 and ctype.startswith("application/json")
    body = json.loads(text)
    assert isinstance(body, list) and list(body[0]) == ["service_request_id", "service_notice",
                                                        "account_id"]
    ref = body[0]["service_request_id"]
    assert ref.startswith("BDG-")
    op = api.as_user(await api.login("operator"))
    s, t = await op.get(f"/api/tickets/{ref}")
    assert s == 200 and t["channel"] == "open311" and t["reporter"]["name"] == "Asep Sunarya"
    assert t["attributes"] == {"tingkat": "berat", "rt_rw": "RT 03/RW 05"}
    async with api.session.get(f"{api.base}{BASE}/requests/{ref}.json") as resp:
        got = await resp.json()
    assert list(got[0]) == REQUEST_KEYS
    assert got[0]["status"] == "open" and got[0]["service_code"] == "jalan-rusak"
    assert got[0]["requested_datetime"].endswith("+07:00")
    assert "Asep" not in json.dumps(got)  # reporters are never published


async def test_post_as_xml(api: Api) -> None:
    status, ctype, text = await _post(api, "xml")
    assert status == 201 and ctype.startswith("text/xml")
    root = ET.fromstring(text)
    assert root.tag == "service_requests"
    req = root.find("request")
    assert req is not None and req.findtext("service_request_id", "").startswith("BDG-")


async def test_errors_are_the_spec_error_list(api: Api, db_url: str) -> None:
    cases = [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": None}, 403, "api_key"),
        ({"service_code": "no-such-thing"}, 404, "service_code"),
        ({"jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction_id"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": "95"}, 400, "lat"),
        ({"long": "abc"}, 400, "long"),
        ({"lat": None, "long": None}, 400, "location"),
        ({"description": "x" * 5001}, 400, "description"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"attribute[tingkat]": "apocalyptic"}, 400, "attribute[tingkat]"),
        ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ]
    for form, code, mentions in cases:
        status, _ctype, text = await _post(api, **form)
        assert status == code, (form, text)
        body = json.loads(text)
        assert body[0]["code"] == code and mentions in body[0]["description"], (form, body)
    status, _, text = await _post(api, "xml", api_key="wrong")
    root = ET.fromstring(text)
    assert status == 403 and root.tag == "errors"
    assert root.find("error/code").text == "403"  # type: ignore[union-attr]
    async with api.session.post(f"{api.base}{BASE}/requests.json", data="{}",
                                headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400 and (await resp.json())[0]["code"] == 400
    async with api.session.get(f"{api.base}{BASE}/requests/NOPE-1.json") as resp:
        assert resp.status == 404 and (await resp.json())[0]["code"] == 404
    async with api.session.get(f"{api.base}{BASE}/services.json?jurisdiction_id=jakarta") as r:
        assert r.status == 404
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tickets WHERE channel = 'open311'"
                                   " AND reference LIKE 'BDG-%'") == 0
    finally:
        await conn.close()


async def test_get_requests_filters_and_defaults(api: Api) -> None:
    refs = []
    for code in ("sampah", "banjir"):
        status, _, text = await _post(api, service_code=code)
        assert status == 201
        refs.append(json.loads(text)[0]["service_request_id"])
    async with api.session.get(f"{api.base}{BASE}/requests.json") as resp:
        everything = await resp.json()
    assert isinstance(everything, list) and 0 < len(everything) <= 1000
    assert all(list(r) == REQUEST_KEYS for r in everything)
    stamps = [r["requested_datetime"] for r in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"service_code": "sampah"}) as resp:
        only = await resp.json()
    assert only and all(r["service_code"] == "sampah" for r in only)
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"service_request_id": ",".join(refs)}) as resp:
        assert sorted(r["service_request_id"] for r in await resp.json()) == sorted(refs)
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"status": "closed"}) as resp:
        assert all(r["status"] == "closed" for r in await resp.json())
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"start_date": "2020-01-01T00:00:00Z",
                                       "end_date": "2021-01-01T00:00:00Z"}) as resp:
        assert resp.status == 400  # more than 90 days
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"start_date": "2020-01-01T00:00:00Z",
                                       "end_date": "2020-02-01T00:00:00Z"}) as resp:
        assert resp.status == 200 and await resp.json() == []
    async with api.session.get(f"{api.base}{BASE}/requests.json",
                               params={"start_date": "yesterday"}) as resp:
        assert resp.status == 400
    async with api.session.get(f"{api.base}{BASE}/requests.xml") as resp:
        root = ET.fromstring(await resp.text())
    assert root.tag == "service_requests"
    assert [c.tag for c in root.find("request")] == REQUEST_KEYS  # type: ignore[union-attr]


async def test_discovery_services_and_definitions_in_both_formats(api: Api) -> None:
    async with api.session.get(f"{api.base}{BASE}/discovery.json") as resp:
        disc = await resp.json()
    assert disc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert disc["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    async with api.session.get(f"{api.base}{BASE}/discovery.xml") as resp:
        root = ET.fromstring(await resp.text())
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml", "application/json"]
    async with api.session.get(f"{api.base}{BASE}/services.xml") as resp:
        root = ET.fromstring(await resp.text())
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert "jalan-rusak" in codes
    assert root.find("service/metadata").text == "true"  # type: ignore[union-attr]
    async with api.session.get(f"{api.base}{BASE}/services/banjir.xml") as resp:
        root = ET.fromstring(await resp.text())
    assert root.tag == "service_definition"
    keys = [v.text for v in root.findall("attributes/attribute/values/value/key")]
    assert "lutut" in keys
    async with api.session.get(f"{api.base}{BASE}/services/nope.json") as resp:
        assert resp.status == 404 and (await resp.json())[0]["code"] == 404


async def test_an_open311_client_library_reads_our_endpoint(api: Api) -> None:
    """`georeport` (PyPI) is a read-only client: services, definitions, requests."""
    _status, _, text = await _post(api)
    ref = json.loads(text)[0]["service_request_id"]
    root = f"{api.base}{BASE}"

    def use_client(fmt: str) -> tuple[Any, Any, Any, Any]:
        client = GeoReport(root, output_format=fmt)
        return (client.get_service_list(), client.get_service_definition("jalan-rusak"),
                client.get_service_requests(service_code="jalan-rusak", status="open"),
                client.get_service_request(ref))

    services, definition, requests, one = await asyncio.to_thread(use_client, "json")
    assert "jalan-rusak" in [s["service_code"] for s in services]
    assert [a["code"] for a in definition["attributes"]] == ["rt_rw", "tingkat"]
    assert ref in [r["service_request_id"] for r in requests]
    assert one["service_request_id"] == ref and one["status"] == "open"
    services, definition, requests, one = await asyncio.to_thread(use_client, "xml")
    assert "jalan-rusak" in [s["service_code"] for s in services]
    assert definition["service_code"] == "jalan-rusak"
    assert one["service_request_id"] == ref


async def test_public_endpoints_need_no_session(api: Api) -> None:
    async with aiohttp.ClientSession() as anon:
        async with anon.get(f"{api.base}{BASE}/services.json") as resp:
            assert resp.status == 200


# Every character XML 1.0 forbids, and a few it allows that look alike.
CONTROL = "a\x01b\x08c\x0bd\x0ce\x1ff\ufffeg\uffffh\tTAB\nNL"


async def test_control_characters_never_break_the_xml_feed(api: Api) -> None:
    """A report with control characters, filed by anyone through /lapor or Open311,
    leaves every XML answer well-formed and a third-party client working."""
    async with api.session.post(f"{api.base}/lapor", allow_redirects=False, data={
            "category": "jalan-rusak", "description": "Lubang " + CONTROL,
            "address": "Jl. Braga \x01 No. 5", "district": "sumur-bandung"}) as resp:
        assert resp.status == 303, await resp.text()
        web_ref = resp.headers["Location"].split("/")[3].split("?")[0]
    status, _, text = await _post(api, description="Open311 " + CONTROL,
                                  address_string="Jl. Asia\x02Afrika")
    assert status == 201, text
    o_ref = json.loads(text)[0]["service_request_id"]
    for path in (f"/requests/{web_ref}.xml", f"/requests/{o_ref}.xml",
                 f"/requests.xml?service_request_id={web_ref},{o_ref}", "/requests.xml"):
        async with api.session.get(f"{api.base}{BASE}{path}") as resp:
            root = ET.fromstring(await resp.text())  # an ExpatError if any slipped through
        described = {r.findtext("service_request_id"): r.findtext("description")
                     for r in root.findall("request")}
        if web_ref in described:
            assert described[web_ref] == "Lubang abcdefgh\tTAB\nNL"
        if o_ref in described:
            assert described[o_ref] == "Open311 abcdefgh\tTAB\nNL"
    # JSON carries them escaped, unchanged.
    async with api.session.get(f"{api.base}{BASE}/requests/{web_ref}.json") as resp:
        assert (await resp.json())[0]["description"] == "Lubang " + CONTROL
    # An error that repeats the client's input is well-formed too.
    async with api.session.get(f"{api.base}{BASE}/requests/A%01B.xml") as resp:
        assert resp.status == 404 and ET.fromstring(await resp.text()).tag == "errors"

    def use_client(fmt: str) -> tuple[Any, Any]:
        client = GeoReport(f"{api.base}{BASE}", output_format=fmt)
        return (client.get_service_requests(service_code="jalan-rusak"),
                client.get_service_request(web_ref))

    for fmt in ("json", "xml"):
        listed, one = await asyncio.to_thread(use_client, fmt)
        ids = [r["service_request_id"] for r in listed]
        assert web_ref in ids and o_ref in ids, fmt
        assert one["service_request_id"] == web_ref, fmt
        assert one["description"].replace("\x01", "").startswith("Lubang ab"), fmt


async def test_dates_out_of_range_are_a_400(api: Api) -> None:
    for params in ({"start_date": "0001-01-01T00:00:00"}, {"end_date": "0001-01-01T00:00:00"},
                   {"start_date": "9999-12-31"}, {"end_date": "9999-12-31T23:59:59"},
                   {"start_date": "0001-01-01T00:00:00Z", "end_date": "0001-02-01T00:00:00Z"},
                   {"start_date": "9999-12-30", "end_date": "9999-12-31"},
                   {"start_date": "2026-01-01T00:00:00+25:00"}):
        for fmt in ("json", "xml"):
            async with api.session.get(f"{api.base}{BASE}/requests.{fmt}",
                                       params=params) as resp:
                text = await resp.text()
            assert resp.status == 400, (params, text)
            if fmt == "json":
                assert json.loads(text)[0]["code"] == 400
            else:
                assert ET.fromstring(text).findtext("error/code") == "400"


async def test_every_error_under_open311_is_in_the_open311_format(api: Api) -> None:
    cases = [("GET", "/open311/v2/nope.json", 404), ("GET", "/open311/v2/requests.csv", 404),
             ("GET", "/open311/v2/services/x/y.json", 404), ("GET", "/open311/v3/x.json", 404),
             ("DELETE", "/open311/v2/requests.json", 405),
             ("PUT", "/open311/v2/services.xml", 405), ("GET", "/open311/v2/nope.xml", 404)]
    for method, path, code in cases:
        async with api.session.request(method, api.base + path) as resp:
            text = await resp.text()
            assert resp.status == code, (path, text)
            if path.endswith(".xml"):
                assert resp.content_type == "text/xml"
                assert ET.fromstring(text).findtext("error/code") == str(code)
            else:
                assert resp.content_type == "application/json", path
                body = json.loads(text)
                assert body[0]["code"] == code and body[0]["description"], path
            if code == 405:
                assert "GET" in resp.headers["Allow"]
    # A body over the server's limit: 413, in the format asked for.
    async with api.session.post(f"{api.base}{BASE}/requests.xml",
                                data={"api_key": KEY, "description": "x" * (3 << 20)}) as resp:
        assert resp.status in (400, 413)
        assert ET.fromstring(await resp.text()).tag == "errors"


async def test_api_key_may_come_in_the_query(api: Api) -> None:
    form = {"service_code": "sampah", "lat": "-6.9", "long": "107.6", "description": "x"}
    async with api.session.post(f"{api.base}{BASE}/requests.json", params={"api_key": KEY},
                                data=form) as resp:
        assert resp.status == 201, await resp.text()
    async with api.session.post(f"{api.base}{BASE}/requests.json", params={"api_key": "no"},
                                data=form) as resp:
        assert resp.status == 403


async def test_description_is_optional_and_address_id_names_a_district(api: Api) -> None:
    status, _, text = await _post(api, description=None, service_code="sampah")
    assert status == 201, text
    ref = json.loads(text)[0]["service_request_id"]
    async with api.session.get(f"{api.base}{BASE}/requests/{ref}.json") as resp:
        got = (await resp.json())[0]
    assert got["description"] == "" and got["address_id"] == "sumur-bandung"
    # address_id alone is a place: the district's
    status, _, text = await _post(api, lat=None, long=None, address_id="coblong")
    assert status == 201, text
    ref = json.loads(text)[0]["service_request_id"]
    op = api.as_user(await api.login("operator"))
    _, t = await op.get(f"/api/tickets/{ref}")
    assert t["district"]["code"] == "coblong" and t["lat"] is None
    status, _, text = await _post(api, lat=None, long=None, address_id="atlantis")
    assert status == 400 and "address_id" in text and "known place" in text
    # messages name the spec's fields
    status, _, text = await _post(api, lat="-6.9", long=None)
    assert status == 400
    assert json.loads(text)[0]["description"] == "long: give both lat and long, or neither"
    status, _, text = await _post(api, long="200")
    assert status == 400 and json.loads(text)[0]["description"].startswith("long:")

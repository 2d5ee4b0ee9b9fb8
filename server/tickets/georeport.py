"""Open311 GeoReport v2: services, service definitions and service requests in the
shapes the specification gives them (wiki.open311.org/GeoReport_v2), as plain
Python data; routes/open311.py renders it as JSON or XML.

Services are the ticket categories. A service request id is the ticket's public
reference (never the internal id). Status is `open` for every open ticket and
`closed` otherwise, with `status_notes` saying why. Times are ISO 8601 in
Asia/Jakarta (+07:00), as a Bandung resident reads them. Reporter names and
contacts never appear in GET answers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from server.tickets.calendar import JAKARTA
from server.tickets.sla import OPEN_STATUSES

JURISDICTION = "bandung.go.id"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-28T00:00:00+07:00"
MAX_RECORDS = 1000
DEFAULT_DAYS = 90

# Attributes every service takes, plus a few per category (service definitions).
COMMON_ATTRIBUTES: list[dict[str, Any]] = [
    {"code": "rt_rw", "datatype": "string", "required": False,
     "datatype_description": "e.g. RT 03 / RW 05",
     "description": "Rukun Tetangga / Rukun Warga (neighbourhood unit)", "values": []},
]
SEVERITY: dict[str, Any] = {
    "code": "tingkat", "datatype": "singlevaluelist", "required": False,
    "datatype_description": "", "description": "Tingkat keparahan / severity",
    "values": [{"key": "ringan", "name": "Ringan / minor"},
               {"key": "sedang", "name": "Sedang / moderate"},
               {"key": "berat", "name": "Berat / severe"}],
}
EXTRA_ATTRIBUTES: dict[str, list[dict[str, Any]]] = {
    "jalan-rusak": [SEVERITY],
    "banjir": [{**SEVERITY, "code": "kedalaman", "description": "Kedalaman air / water depth",
                "values": [{"key": "mata-kaki", "name": "Semata kaki / ankle"},
                           {"key": "lutut", "name": "Selutut / knee"},
                           {"key": "pinggang", "name": "Sepinggang / waist"}]}],
    "sampah": [SEVERITY],
}


def local_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(JAKARTA).isoformat(timespec="seconds")


def attributes_for(code: str) -> list[dict[str, Any]]:
    attrs = COMMON_ATTRIBUTES + EXTRA_ATTRIBUTES.get(code, [])
    return [{"variable": True, **{k: a[k] for k in ("code", "datatype", "required",
                                                      "datatype_description")},
             "order": i, "description": a["description"], "values": a["values"]}
            for i, a in enumerate(attrs, 1)]


def service_json(cat: dict[str, Any]) -> dict[str, Any]:
    return {"service_code": cat["code"], "service_name": cat["name"],
            "description": cat["name_en"] or cat["description"], "metadata": True,
            "type": "realtime", "keywords": cat["code"].replace("-", ","),
            "group": cat["dept_name"] or ""}


def check_attributes(code: str, given: dict[str, str]) -> dict[str, str]:
    """Errors by `attribute[code]` for posted attributes that break the definition."""
    errors: dict[str, str] = {}
    known = {a["code"]: a for a in attributes_for(code)}
    for key, value in given.items():
        attr = known.get(key)
        if attr is None:
            errors[f"attribute[{key}]"] = "not an attribute of this service"
        elif "\x00" in value:
            errors[f"attribute[{key}]"] = "must not contain NUL characters"
        elif attr["datatype"] == "singlevaluelist" and value not in [
                v["key"] for v in attr["values"]]:
            errors[f"attribute[{key}]"] = "not one of the listed values"
        elif len(value) > 200:
            errors[f"attribute[{key}]"] = "at most 200 characters"
    for attr in known.values():
        if attr["required"] and not given.get(attr["code"]):
            errors[f"attribute[{attr['code']}]"] = "required"
    return errors


def status_of(row: dict[str, Any]) -> tuple[str, str]:
    """(open|closed, status_notes) for a ticket row."""
    status = row["status"]
    if status in OPEN_STATUSES:
        notes = {"new": "Diterima / received", "triaged": "Diverifikasi / verified",
                 "routed": "Diteruskan ke dinas / sent to the department",
                 "acknowledged": "Diterima dinas / accepted by the department",
                 "in_progress": "Sedang dikerjakan / in progress"}[status]
        return "open", notes
    if status == "merged":
        return "closed", f"Duplikat dari / duplicate of {row['m_reference']}"
    if status == "rejected":
        return "closed", f"Ditolak / rejected: {row['close_reason']}"
    if status == "resolved":
        return "closed", "Selesai / resolved"
    return "closed", "Ditutup / closed" + (f": {row['close_reason']}" if row["close_reason"]
                                            else "")


def request_json(row: dict[str, Any]) -> dict[str, Any]:
    status, notes = status_of(row)
    return {
        "service_request_id": row["reference"],
        "status": status,
        "status_notes": notes,
        "service_name": row["c_name"],
        "service_code": row["c_code"],
        "description": row["description"],
        "agency_responsible": row["dep_name"],
        "service_notice": None,
        "requested_datetime": local_iso(row["created_at"]),
        "updated_datetime": local_iso(row["updated_at"]),
        "expected_datetime": local_iso(row["resolve_due_at"]),
        "address": row["address"],
        # The city's places an Open311 client can name are its districts (kecamatan).
        "address_id": row["d_code"],
        "zipcode": None,
        "lat": row["lat"],
        "long": row["lon"],
        "media_url": None,
    }


def discovery(base_url: str) -> dict[str, Any]:
    return {"changeset": CHANGESET, "contact": "Bandung Command Center, call 112",
            "key_service": "Ask the command center for an api_key",
            "endpoints": [{"specification": SPECIFICATION, "url": base_url,
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}]}


# -- XML ----------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, not even as &#1;: C0 controls other than
# tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF. One of
# them in one report (anyone can file "\x01" through /lapor) would make the whole
# document unreadable to every client, so they are dropped from every text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (ElementTree escapes the rest)."""
    return _NOT_XML.sub("", text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return xml_safe(str(value))


def _fill(parent: ET.Element, data: dict[str, Any], list_items: dict[str, str]) -> None:
    for key, value in data.items():
        el = ET.SubElement(parent, key)
        if isinstance(value, list):
            child_tag = list_items.get(key, key.rstrip("s"))
            for item in value:
                child = ET.SubElement(el, child_tag)
                if isinstance(item, dict):
                    _fill(child, item, list_items)
                else:
                    child.text = _text(item)
        elif isinstance(value, dict):
            _fill(el, value, list_items)
        else:
            el.text = _text(value)


# The spec's element names for list members.
_ITEMS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
          "values": "value"}


def to_xml(root: str, data: dict[str, Any] | list[dict[str, Any]],
           item: str | None = None) -> str:
    """Serialise like the spec's examples: <root><item>...</item></root> for lists."""
    top = ET.Element(root)
    if isinstance(data, list):
        assert item is not None
        for entry in data:
            _fill(ET.SubElement(top, item), entry, _ITEMS)
    else:
        _fill(top, data, _ITEMS)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode")
